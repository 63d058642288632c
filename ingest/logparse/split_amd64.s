#include "textflag.h"

// func blockMasks(p *byte, blocks int, pat uint64, masks *uint32) uint32
TEXT ·blockMasks(SB), NOSPLIT, $0-36
	MOVQ p+0(FP), SI
	MOVQ blocks+8(FP), CX
	MOVQ pat+16(FP), AX
	MOVQ masks+24(FP), DI
	MOVQ AX, X0
	PUNPCKLQDQ X0, X0 // the delimiter in all 16 bytes
	PXOR X1, X1       // zero
	XORL R8, R8       // NUL or not ASCII, all blocks

	TESTQ CX, CX
	JZ done

loop:
	MOVOU (SI), X2
	MOVOU 16(SI), X3

	// Delimiters: bit j of the mask for byte j.
	MOVO X2, X4
	PCMPEQB X0, X4
	PMOVMSKB X4, AX
	MOVO X3, X5
	PCMPEQB X0, X5
	PMOVMSKB X5, BX
	SHLL $16, BX
	ORL BX, AX
	MOVL AX, (DI)

	// Not ASCII: the high bit of the byte itself.
	PMOVMSKB X2, AX
	PMOVMSKB X3, BX
	ORL AX, R8
	ORL BX, R8

	// NUL.
	MOVO X2, X4
	PCMPEQB X1, X4
	MOVO X3, X5
	PCMPEQB X1, X5
	POR X5, X4
	PMOVMSKB X4, AX
	ORL AX, R8

	ADDQ $32, SI
	ADDQ $4, DI
	DECQ CX
	JNZ loop

done:
	MOVL R8, ret+32(FP)
	RET
