//go:build amd64 && !purego

#include "textflag.h"

// ROWSARGS loads both functions' arguments: DI dst, SI src, R8 and R9
// their strides in bytes, R10 rows, R11 width.
#define ROWSARGS \
	MOVQ dst+0(FP), DI \
	MOVQ dstStride+8(FP), R8 \
	MOVQ src+16(FP), SI \
	MOVQ srcStride+24(FP), R9 \
	MOVQ rows+32(FP), R10 \
	MOVQ width+40(FP), R11 \
	SHLQ $2, R8 \
	SHLQ $2, R9

// func addRowsAVX(dst *float32, dstStride int, src *float32, srcStride, rows, width int)
//
// Row by row: 8 values at a time, then 4, then one. Each sum is one
// float32 addition; src is its first operand, as in the code Go compiles
// dst[j] += v to, so that even a sum of two NaNs keeps the same payload.
//
// Registers: DI dst row, SI src row, R8/R9 strides in bytes, R10 rows
// left; AX, BX, CX walk one row.
TEXT ·addRowsAVX(SB), NOSPLIT, $0-48
	ROWSARGS

addrow:
	MOVQ DI, AX
	MOVQ SI, BX
	MOVQ R11, CX
	CMPQ CX, $8
	JLT  add4

add8:
	VMOVUPS (BX), Y0
	VADDPS  (AX), Y0, Y0
	VMOVUPS Y0, (AX)
	ADDQ    $32, AX
	ADDQ    $32, BX
	SUBQ    $8, CX
	CMPQ    CX, $8
	JGE     add8

add4:
	CMPQ    CX, $4
	JLT     add1
	VMOVUPS (BX), X0
	VADDPS  (AX), X0, X0
	VMOVUPS X0, (AX)
	ADDQ    $16, AX
	ADDQ    $16, BX
	SUBQ    $4, CX

add1:
	TESTQ  CX, CX
	JZ     addnext
	VMOVSS (BX), X0
	VADDSS (AX), X0, X0
	VMOVSS X0, (AX)
	ADDQ   $4, AX
	ADDQ   $4, BX
	DECQ   CX
	JMP    add1

addnext:
	ADDQ R8, DI
	ADDQ R9, SI
	DECQ R10
	JNZ  addrow
	VZEROUPPER
	RET

// func copyRowsAVX(dst *float32, dstStride int, src *float32, srcStride, rows, width int)
//
// addRowsAVX's walk, storing src's values.
TEXT ·copyRowsAVX(SB), NOSPLIT, $0-48
	ROWSARGS

copyrow:
	MOVQ DI, AX
	MOVQ SI, BX
	MOVQ R11, CX
	CMPQ CX, $8
	JLT  copy4

copy8:
	VMOVUPS (BX), Y0
	VMOVUPS Y0, (AX)
	ADDQ    $32, AX
	ADDQ    $32, BX
	SUBQ    $8, CX
	CMPQ    CX, $8
	JGE     copy8

copy4:
	CMPQ    CX, $4
	JLT     copy1
	VMOVUPS (BX), X0
	VMOVUPS X0, (AX)
	ADDQ    $16, AX
	ADDQ    $16, BX
	SUBQ    $4, CX

copy1:
	TESTQ  CX, CX
	JZ     copynext
	MOVL   (BX), DX
	MOVL   DX, (AX)
	ADDQ   $4, AX
	ADDQ   $4, BX
	DECQ   CX
	JMP    copy1

copynext:
	ADDQ R8, DI
	ADDQ R9, SI
	DECQ R10
	JNZ  copyrow
	VZEROUPPER
	RET
