//go:build inflatecheck

package inflate

import "encoding/binary"

// The buffer accesses of the fast loop (see huffman) with the bounds
// checks of slices, for tests: built with the tag inflatecheck, an access
// out of bounds panics.

func loadIn64(b *[inSize]byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }

func loadOut64(b *[outSize]byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }

func storeOut16(b *[outSize]byte, i int, v uint16) { binary.LittleEndian.PutUint16(b[i:], v) }

func storeOut64(b *[outSize]byte, i int, v uint64) { binary.LittleEndian.PutUint64(b[i:], v) }
