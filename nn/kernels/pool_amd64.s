//go:build amd64 && !purego

#include "textflag.h"

// func maxPool2x2AVX2(o, a, c *float32, blocks int, b, floor float32) (nan bool)
//
// Per block, 16 values of each row give 8 outputs: the column maxima of
// the two rows (two ymm), their even and odd lanes split by VSHUFPS (which
// works within 128-bit halves, so the pairs come out as outputs
// 0 1 4 5 | 2 3 6 7), the maximum of the two, VPERMPD to put the qwords
// back in order, + b, then the floor.
//
// VMAXPS returns its second operand when either is NaN or both are zero.
// NaNs are not tracked through the maxima: an unordered compare of the
// inputs ORs into Y8, and the caller redoes the row in Go if any lane was
// set. Zeros: the maxima may give −0 where Go gives +0, but m+b cannot be
// −0 unless b is −0, which the caller keeps away; so v = m+b is exact, and
// max(floor, v) with v second gives Go's +0 for a ±0 floor.
//
// Registers: DX o, SI a, DI c, CX blocks left, Y6 b, Y7 floor, Y8 NaN mask.
TEXT ·maxPool2x2AVX2(SB), NOSPLIT, $0-41
	MOVQ o+0(FP), DX
	MOVQ a+8(FP), SI
	MOVQ c+16(FP), DI
	MOVQ blocks+24(FP), CX
	VBROADCASTSS b+32(FP), Y6
	VBROADCASTSS floor+36(FP), Y7
	VXORPS Y8, Y8, Y8
	TESTQ CX, CX
	JLE done

loop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS (DI), Y2
	VMOVUPS 32(DI), Y3
	VCMPPS $3, Y2, Y0, Y4   // unordered: a or c is NaN
	VCMPPS $3, Y3, Y1, Y5
	VORPS Y4, Y8, Y8
	VORPS Y5, Y8, Y8
	VMAXPS Y2, Y0, Y0       // column maxima, inputs 0–7
	VMAXPS Y3, Y1, Y1       // inputs 8–15
	VSHUFPS $0x88, Y1, Y0, Y2 // even inputs: 0 2 8 10 | 4 6 12 14
	VSHUFPS $0xDD, Y1, Y0, Y3 // odd inputs: 1 3 9 11 | 5 7 13 15
	VMAXPS Y3, Y2, Y2       // outputs 0 1 4 5 | 2 3 6 7
	VPERMPD $0xD8, Y2, Y2   // qwords 0 2 1 3: outputs 0–7
	VADDPS Y6, Y2, Y2
	VMAXPS Y2, Y7, Y2       // max(floor, v), v second
	VMOVUPS Y2, (DX)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $32, DX
	DECQ CX
	JNZ loop

done:
	VPTEST Y8, Y8
	SETNE nan+40(FP)
	VZEROUPPER
	RET
