//go:build amd64 && !purego

#include "textflag.h"

DATA signbit<>+0(SB)/4, $0x80000000
GLOBL signbit<>(SB), RODATA|NOPTR, $4

// func maxIntoAVX(dst, a, b *float32, blocks int)
//
// Per block, 8 values, each by the sequence the Go compiler lowers
// max(a, b) to on amd64, lane for lane, so that every bit agrees, NaN
// payloads and signed zeros included: with x = −a and y = −b (the sign
// flipped), m = min(x, y) then min(m, x) ORed with m (MINPS returns its
// second operand on equal values and NaNs), and the sign flipped back.
// dst may be a or b: each block is loaded before it is stored.
//
// Registers: DI dst, SI a, DX b, CX blocks left, Y6 the sign bit.
TEXT ·maxIntoAVX(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ blocks+24(FP), CX
	VBROADCASTSS signbit<>(SB), Y6
	TESTQ CX, CX
	JLE done

loop:
	VXORPS (SI), Y6, Y0     // x = −a
	VXORPS (DX), Y6, Y1     // y = −b
	VMINPS Y1, Y0, Y3       // m = x < y ? x : y
	VMINPS Y0, Y3, Y5       // m < x ? m : x
	VORPS Y3, Y5, Y5
	VXORPS Y6, Y5, Y5
	VMOVUPS Y5, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ loop

done:
	VZEROUPPER
	RET
