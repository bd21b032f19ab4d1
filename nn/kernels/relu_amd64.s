//go:build amd64 && !purego

#include "textflag.h"

// func biasReLUAVX2(x *float32, blocks int, b float32)
//
// For blocks blocks of 8 floats at x: x = max(0, x+b), the sum as VMAXPS's
// second operand so that a NaN sum comes out as it is (see AddBiasReLU).
TEXT ·biasReLUAVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), DI
	MOVQ         blocks+8(FP), CX
	VBROADCASTSS b+16(FP), Y1
	VXORPS       Y2, Y2, Y2

loop:
	VADDPS  (DI), Y1, Y0
	VMAXPS  Y0, Y2, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	DECQ    CX
	JNZ     loop
	VZEROUPPER
	RET

// func reluGradAVX2(din, in, dout *float32, blocks int)
//
// For blocks blocks of 8 floats: din = dout AND (in > 0 ? all ones : 0),
// the ordered greater-than, false for a NaN input.
TEXT ·reluGradAVX2(SB), NOSPLIT, $0-32
	MOVQ   din+0(FP), DI
	MOVQ   in+8(FP), SI
	MOVQ   dout+16(FP), DX
	MOVQ   blocks+24(FP), CX
	VXORPS Y2, Y2, Y2

gradloop:
	VMOVUPS (SI), Y0
	VCMPPS  $0x1e, Y2, Y0, Y0
	VANDPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     gradloop
	VZEROUPPER
	RET
