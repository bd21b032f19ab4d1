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

// Twice the lane number: the column of each output's first input.
DATA evens<>+0(SB)/4, $0
DATA evens<>+4(SB)/4, $2
DATA evens<>+8(SB)/4, $4
DATA evens<>+12(SB)/4, $6
DATA evens<>+16(SB)/4, $8
DATA evens<>+20(SB)/4, $10
DATA evens<>+24(SB)/4, $12
DATA evens<>+28(SB)/4, $14
GLOBL evens<>(SB), RODATA|NOPTR, $32

// func maxPool2x2ArgAVX2(o *float32, arg *int32, a, c *float32, blocks int, top, w int32)
//
// Per block, 16 values of each row give 8 outputs. Each row is split into
// its even and odd inputs as in maxPool2x2AVX2 (outputs in the order
// 0 1 4 5 | 2 3 6 7), then Go's chain of compares: the best so far is
// replaced where the next input is greater (VCMPPS GT_OQ, false on a NaN
// either side, as Go's >), its offset 0, 1, w or w+1 with it (VBLENDVPS
// moves bits, so the ints ride in float lanes). VPERMPD puts the qwords
// back in order, and the index is offset + top + 2·column.
//
// Registers: DX o, R8 arg, SI a, DI c, CX blocks left, Y9 the columns'
// indices (top + 2·column), Y10 1, Y11 w, Y12 w+1, Y13 16.
// The constants reach the vector registers by VMOVD: the legacy-SSE MOVQ
// there made each call some 20 times slower on session 56's AMD EPYC (an
// SSE/AVX transition), 7 times the Go loop's time.
TEXT ·maxPool2x2ArgAVX2(SB), NOSPLIT, $0-48
	MOVQ         o+0(FP), DX
	MOVQ         arg+8(FP), R8
	MOVQ         a+16(FP), SI
	MOVQ         c+24(FP), DI
	MOVQ         blocks+32(FP), CX
	MOVL         top+40(FP), AX
	VMOVD        AX, X9
	VPBROADCASTD X9, Y9
	VPADDD       evens<>(SB), Y9, Y9
	MOVL         $1, AX
	VMOVD        AX, X10
	VPBROADCASTD X10, Y10
	MOVL         w+44(FP), AX
	VMOVD        AX, X11
	VPBROADCASTD X11, Y11
	VPADDD       Y10, Y11, Y12
	MOVL         $16, AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13

argloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS (DI), Y2
	VMOVUPS 32(DI), Y3
	VSHUFPS $0x88, Y1, Y0, Y4 // a even: the best so far
	VSHUFPS $0xDD, Y1, Y0, Y5 // a odd
	VSHUFPS $0x88, Y3, Y2, Y6 // c even
	VSHUFPS $0xDD, Y3, Y2, Y7 // c odd
	VPXOR   Y8, Y8, Y8        // offsets: 0

	VCMPPS    $0x1e, Y4, Y5, Y0 // a odd > best
	VBLENDVPS Y0, Y5, Y4, Y4
	VBLENDVPS Y0, Y10, Y8, Y8
	VCMPPS    $0x1e, Y4, Y6, Y0 // c even > best
	VBLENDVPS Y0, Y6, Y4, Y4
	VBLENDVPS Y0, Y11, Y8, Y8
	VCMPPS    $0x1e, Y4, Y7, Y0 // c odd > best
	VBLENDVPS Y0, Y7, Y4, Y4
	VBLENDVPS Y0, Y12, Y8, Y8

	VPERMPD $0xD8, Y4, Y4
	VPERMPD $0xD8, Y8, Y8
	VPADDD  Y9, Y8, Y8
	VMOVUPS Y4, (DX)
	VMOVDQU Y8, (R8)
	VPADDD  Y13, Y9, Y9
	ADDQ    $64, SI
	ADDQ    $64, DI
	ADDQ    $32, DX
	ADDQ    $32, R8
	DECQ    CX
	JNZ     argloop
	VZEROUPPER
	RET
