//go:build amd64 && !purego

#include "textflag.h"

// func bnGradAVX2(dx, x, dy *float32, blocks int, c *[6]float64)
//
// For blocks blocks of 4 floats: dx = float32(k·((count·dy − dbeta) −
// ((x − mean)·inv)·dgamma)) in float64, the Go twin's operations in its
// order, no fused multiply-add (c: mean, inv, count, dbeta, dgamma, k).
TEXT ·bnGradAVX2(SB), NOSPLIT, $0-40
	MOVQ         dx+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         dy+16(FP), DX
	MOVQ         blocks+24(FP), CX
	MOVQ         c+32(FP), AX
	VBROADCASTSD (AX), Y8
	VBROADCASTSD 8(AX), Y9
	VBROADCASTSD 16(AX), Y10
	VBROADCASTSD 24(AX), Y11
	VBROADCASTSD 32(AX), Y12
	VBROADCASTSD 40(AX), Y13

loop:
	VCVTPS2PD  (SI), Y0
	VSUBPD     Y8, Y0, Y0
	VMULPD     Y9, Y0, Y0
	VCVTPS2PD  (DX), Y1
	VMULPD     Y10, Y1, Y1
	VSUBPD     Y11, Y1, Y1
	VMULPD     Y12, Y0, Y0
	VSUBPD     Y0, Y1, Y1
	VMULPD     Y13, Y1, Y1
	VCVTPD2PSY Y1, X1
	VMOVUPS    X1, (DI)
	ADDQ       $16, SI
	ADDQ       $16, DX
	ADDQ       $16, DI
	DECQ       CX
	JNZ        loop
	VZEROUPPER
	RET
