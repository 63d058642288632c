//go:build !inflatecheck

package inflate

import (
	"encoding/binary"
	"unsafe"
)

// The buffer accesses of the fast loop (see huffman), without bounds
// checks: each reads or writes the little-endian value at byte i of the
// buffer. checked.go has the same functions with the checks.

func loadIn64(b *[inSize]byte, i int) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(unsafe.Pointer(b), i))[:])
}

func loadOut64(b *[outSize]byte, i int) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(unsafe.Pointer(b), i))[:])
}

func storeOut16(b *[outSize]byte, i int, v uint16) {
	binary.LittleEndian.PutUint16((*[2]byte)(unsafe.Add(unsafe.Pointer(b), i))[:], v)
}

func storeOut64(b *[outSize]byte, i int, v uint64) {
	binary.LittleEndian.PutUint64((*[8]byte)(unsafe.Add(unsafe.Pointer(b), i))[:], v)
}
