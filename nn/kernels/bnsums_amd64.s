//go:build amd64 && !purego

#include "textflag.h"

// TRANSPOSE4 turns four rows of four floats (one per channel) into four
// columns (one per pixel, the channels in lanes 0–3), using T0–T3 as
// scratch: unpack pairs of rows (channels 0,1 and 2,3 interleaved by
// pixel), then take their lower and upper halves.
#define TRANSPOSE4(R0, R1, R2, R3, T0, T1, T2, T3) \
	VUNPCKLPS R1, R0, T0 \
	VUNPCKHPS R1, R0, T1 \
	VUNPCKLPS R3, R2, T2 \
	VUNPCKHPS R3, R2, T3 \
	VSHUFPS $0x44, T2, T0, R0 \
	VSHUFPS $0xEE, T2, T0, R1 \
	VSHUFPS $0x44, T3, T1, R2 \
	VSHUFPS $0xEE, T3, T1, R3

// PIXEL adds one pixel's four channels: G and X hold its dy and x as
// floats; dbeta += dy, dgamma += (dy·(x − mean))·inv, in float64.
#define PIXEL(G, X, YG, YX) \
	VCVTPS2PD G, YG \
	VCVTPS2PD X, YX \
	VADDPD    YG, Y12, Y12 \
	VSUBPD    Y14, YX, YX \
	VMULPD    YX, YG, YX \
	VMULPD    Y15, YX, YX \
	VADDPD    YX, Y13, Y13

// func bnGradSums4AVX2(dy, x *float32, stride, blocks int, mean, inv, dbeta, dgamma *[4]float64)
//
// Per block, 4 pixels of each of the 4 channels' planes of dy and of x,
// transposed so that a register holds one pixel of every channel; the
// pixels are then added in order. Lane k of Y12 and Y13 is channel k's
// running dbeta and dgamma, Y14 its mean and Y15 its inv.
//
// Registers: SI dy, DI x, R8 stride in bytes, R9 3·stride, CX blocks left.
TEXT ·bnGradSums4AVX2(SB), NOSPLIT, $0-64
	MOVQ    dy+0(FP), SI
	MOVQ    x+8(FP), DI
	MOVQ    stride+16(FP), R8
	MOVQ    blocks+24(FP), CX
	MOVQ    mean+32(FP), AX
	VMOVUPD (AX), Y14
	MOVQ    inv+40(FP), AX
	VMOVUPD (AX), Y15
	MOVQ    dbeta+48(FP), AX
	VMOVUPD (AX), Y12
	MOVQ    dgamma+56(FP), AX
	VMOVUPD (AX), Y13
	SHLQ    $2, R8
	LEAQ    (R8)(R8*2), R9

sumloop:
	VMOVUPS (SI), X0
	VMOVUPS (SI)(R8*1), X1
	VMOVUPS (SI)(R8*2), X2
	VMOVUPS (SI)(R9*1), X3
	TRANSPOSE4(X0, X1, X2, X3, X8, X9, X10, X11)
	VMOVUPS (DI), X4
	VMOVUPS (DI)(R8*1), X5
	VMOVUPS (DI)(R8*2), X6
	VMOVUPS (DI)(R9*1), X7
	TRANSPOSE4(X4, X5, X6, X7, X8, X9, X10, X11)
	PIXEL(X0, X4, Y8, Y9)
	PIXEL(X1, X5, Y10, Y11)
	PIXEL(X2, X6, Y8, Y9)
	PIXEL(X3, X7, Y10, Y11)
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ CX
	JNZ  sumloop

	MOVQ    dbeta+48(FP), AX
	VMOVUPD Y12, (AX)
	MOVQ    dgamma+56(FP), AX
	VMOVUPD Y13, (AX)
	VZEROUPPER
	RET
