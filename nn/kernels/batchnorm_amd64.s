//go:build amd64 && !purego

#include "textflag.h"

// func bnGradAVX2(dx, x, dy *float32, blocks int, mean, inv, count, dbeta, dgamma, k float64)
//
// For blocks blocks of 4 floats: dx = float32(k·((count·dy − dbeta) −
// ((x − mean)·inv)·dgamma)) in float64, the Go twin's operations in its
// order, no fused multiply-add.
TEXT ·bnGradAVX2(SB), NOSPLIT, $0-80
	MOVQ         dx+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         dy+16(FP), DX
	MOVQ         blocks+24(FP), CX
	VBROADCASTSD mean+32(FP), Y8
	VBROADCASTSD inv+40(FP), Y9
	VBROADCASTSD count+48(FP), Y10
	VBROADCASTSD dbeta+56(FP), Y11
	VBROADCASTSD dgamma+64(FP), Y12
	VBROADCASTSD k+72(FP), Y13

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

// func bnApplyAVX(dst, src *float32, blocks int, scale, shift float64)
//
// For blocks blocks of 4 floats: dst = float32(src·scale + shift) in
// float64, a multiply then an add (no fused multiply-add), as the Go twin.
TEXT ·bnApplyAVX(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         blocks+16(FP), CX
	VBROADCASTSD scale+24(FP), Y8
	VBROADCASTSD shift+32(FP), Y9

applyloop:
	VCVTPS2PD  (SI), Y0
	VMULPD     Y8, Y0, Y0
	VADDPD     Y9, Y0, Y0
	VCVTPD2PSY Y0, X0
	VMOVUPS    X0, (DI)
	ADDQ       $16, SI
	ADDQ       $16, DI
	DECQ       CX
	JNZ        applyloop
	VZEROUPPER
	RET
