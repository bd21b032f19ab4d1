//go:build amd64 && !purego

#include "textflag.h"

// The four rows' multiply-adds of one k step, the row of B already in
// Y12–Y14: each of the 4 A values at AOFF(SI) broadcast in turn into Y15
// and multiplied into its row of accumulators (row i in Y(3i)..Y(3i+2)).
#define FMAS(AOFF) \
	VBROADCASTSS AOFF(SI), Y15; \
	VFMADD231PS Y12, Y15, Y0; \
	VFMADD231PS Y13, Y15, Y1; \
	VFMADD231PS Y14, Y15, Y2; \
	VBROADCASTSS AOFF+4(SI), Y15; \
	VFMADD231PS Y12, Y15, Y3; \
	VFMADD231PS Y13, Y15, Y4; \
	VFMADD231PS Y14, Y15, Y5; \
	VBROADCASTSS AOFF+8(SI), Y15; \
	VFMADD231PS Y12, Y15, Y6; \
	VFMADD231PS Y13, Y15, Y7; \
	VFMADD231PS Y14, Y15, Y8; \
	VBROADCASTSS AOFF+12(SI), Y15; \
	VFMADD231PS Y12, Y15, Y9; \
	VFMADD231PS Y13, Y15, Y10; \
	VFMADD231PS Y14, Y15, Y11

// Fetch the up to 3 cache lines of one 96-byte row of C at R10.
#define PREFETCHROW \
	PREFETCHT0 (R10); \
	PREFETCHT0 48(R10); \
	PREFETCHT0 92(R10)

// Fetch four rows of C, ldc bytes apart in R8, from R10 on, ROW a row,
// leaving R10 on the last.
#define PREFETCH4(ROW) \
	ROW; \
	ADDQ R8, R10; \
	ROW; \
	ADDQ R8, R10; \
	ROW; \
	ADDQ R8, R10; \
	ROW

// Start fetching the C tile at DX, so that the read-modify-write at the
// end finds it in cache. Uses R10.
#define PREFETCHC \
	MOVQ DX, R10; \
	PREFETCH4(PREFETCHROW)

// Clear the 12 accumulators.
#define ZEROACC \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7; \
	VXORPS Y8, Y8, Y8; \
	VXORPS Y9, Y9, Y9; \
	VXORPS Y10, Y10, Y10; \
	VXORPS Y11, Y11, Y11

// One k step: a row of 24 B values from DI into Y12–Y14, then FMAS.
// AOFF is the A offset in bytes of this step.
#define STEP(AOFF) \
	VMOVUPS (DI), Y12; \
	VMOVUPS 32(DI), Y13; \
	VMOVUPS 64(DI), Y14; \
	FMAS(AOFF); \
	ADDQ R9, DI

// Write one row of accumulators, three registers at C+0, C+O1 and C+O2
// (DX), to C, then move DX to the next row.
#define SETAT(O1, O2, R0, R1, R2) \
	VMOVUPS R0, (DX); \
	VMOVUPS R1, O1(DX); \
	VMOVUPS R2, O2(DX); \
	ADDQ R8, DX

// Add one row of accumulators, laid out as for SETAT, into C, then move
// DX to the next row.
#define STOREAT(O1, O2, R0, R1, R2) \
	VADDPS (DX), R0, R0; \
	VMOVUPS R0, (DX); \
	VADDPS O1(DX), R1, R1; \
	VMOVUPS R1, O1(DX); \
	VADDPS O2(DX), R2, R2; \
	VMOVUPS R2, O2(DX); \
	ADDQ R8, DX

// A row of 24 in three ymm registers.
#define SET(R0, R1, R2) SETAT(32, 64, R0, R1, R2)
#define STORE(R0, R1, R2) STOREAT(32, 64, R0, R1, R2)

// One k step of a direct micro-kernel: as STEP, but the row of B is read
// at DI + 4·off[p], off[p] taken from (R9), so B is the convolution's
// input itself rather than a packed panel; R9 moves on to off[p+1].
#define DSTEP(AOFF) \
	MOVLQSX (R9), AX; \
	VMOVUPS (DI)(AX*4), Y12; \
	VMOVUPS 32(DI)(AX*4), Y13; \
	VMOVUPS 64(DI)(AX*4), Y14; \
	FMAS(AOFF); \
	ADDQ $4, R9

// The k loop of every micro-kernel: CX steps of STEP (a macro taking the
// step's A offset in bytes and moving B on itself), four at a time to
// spread the loop overhead, then one at a time; SI moves on over A.
#define KLOOP(STEP, LOOP4, TAIL, LOOP1, DONE) \
	CMPQ CX, $4; \
	JLT  TAIL; \
LOOP4: \
	STEP(0); \
	STEP(16); \
	STEP(32); \
	STEP(48); \
	ADDQ $64, SI; \
	SUBQ $4, CX; \
	CMPQ CX, $4; \
	JGE  LOOP4; \
TAIL: \
	TESTQ CX, CX; \
	JZ    DONE; \
LOOP1: \
	STEP(0); \
	ADDQ $16, SI; \
	DECQ CX; \
	JNZ  LOOP1; \
DONE:

// Write four rows of accumulators, three registers a row (R0–R11), over
// C (set) or add them into it, with the row macros SETROW and STOREROW,
// then go on at NEXT. Moves DX to the next tile.
#define FINISH3(NEXT, OVERWRITE, STOREROW, SETROW, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, R11) \
	CMPB set+56(FP), $0; \
	JNE  OVERWRITE; \
	STOREROW(R0, R1, R2); \
	STOREROW(R3, R4, R5); \
	STOREROW(R6, R7, R8); \
	STOREROW(R9, R10, R11); \
	JMP  NEXT; \
OVERWRITE: \
	SETROW(R0, R1, R2); \
	SETROW(R3, R4, R5); \
	SETROW(R6, R7, R8); \
	SETROW(R9, R10, R11)

// FINISH3 for the AVX2 kernels' tile in Y0–Y11.
#define FINISH(NEXT, OVERWRITE) FINISH3(NEXT, OVERWRITE, STORE, SET, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11)

// One tile at a time, BX of them: its C rows fetched (PREF), CX k steps
// of STEP from zeroed accumulators (ZERO), then FIN (FINISH's form), with
// B back at its start (RESETB) for each tile. Go's assembler scopes
// labels to their function, so each kernel can use these once.
#define TILES(PREF, ZERO, FIN, RESETB, STEP) \
tile: \
	MOVQ R11, CX; \
	RESETB; \
	PREF; \
	ZERO; \
	KLOOP(STEP, loop4, tail, loop1, done); \
	FIN(next, overwrite); \
next: \
	DECQ BX; \
	JNZ  tile

// Where B starts for each tile: the packed panel (R12), or the direct
// kernels' first offset (R13).
#define RESETPACKED MOVQ R12, DI
#define RESETDIRECT MOVQ R13, R9

// The arguments of the packed micro-kernels: R11 k, SI a, BX tiles, R12
// b, R9 ldb and R8 ldc in bytes, DX c.
#define PACKEDARGS \
	MOVQ k+0(FP), R11; \
	MOVQ a+8(FP), SI; \
	MOVQ tiles+16(FP), BX; \
	MOVQ b+24(FP), R12; \
	MOVQ ldb+32(FP), R9; \
	SHLQ $2, R9; \
	MOVQ c+40(FP), DX; \
	MOVQ ldc+48(FP), R8; \
	SHLQ $2, R8

// The arguments of the direct micro-kernels: as PACKEDARGS, with DI the
// base of B for the whole panel and R13 the offset table.
#define DIRECTARGS \
	MOVQ k+0(FP), R11; \
	MOVQ a+8(FP), SI; \
	MOVQ tiles+16(FP), BX; \
	MOVQ b+24(FP), DI; \
	MOVQ off+32(FP), R13; \
	MOVQ c+40(FP), DX; \
	MOVQ ldc+48(FP), R8; \
	SHLQ $2, R8

// The AVX-512 micro-kernels below compute exactly what the AVX2 ones do,
// element for element: the same tile, the same packed panels, and for
// each element of C the same chain of fused multiply-adds over k from
// zero, added to C at the end. Only the width differs: a row of 24 is one
// full zmm (columns 0–15) and one zmm masked by K1 to its low 8 lanes
// (16–23), so a k step is 8 FMAs instead of 12, and the masked loads and
// stores touch nothing past the tile. The results are bit for bit those
// of the AVX2 kernels, so training gives the same bytes on either CPU.

// Row i of the tile accumulates in Z(2i) and Z(2i+1); the row of B is in
// Z8 and Z9 (Z9's high lanes zero); A's values are broadcast into Z10–Z13.
#define FMAS512(AOFF) \
	VBROADCASTSS AOFF(SI), Z10; \
	VBROADCASTSS AOFF+4(SI), Z11; \
	VBROADCASTSS AOFF+8(SI), Z12; \
	VBROADCASTSS AOFF+12(SI), Z13; \
	VFMADD231PS Z8, Z10, Z0; \
	VFMADD231PS Z9, Z10, Z1; \
	VFMADD231PS Z8, Z11, Z2; \
	VFMADD231PS Z9, Z11, Z3; \
	VFMADD231PS Z8, Z12, Z4; \
	VFMADD231PS Z9, Z12, Z5; \
	VFMADD231PS Z8, Z13, Z6; \
	VFMADD231PS Z9, Z13, Z7

#define ZEROACC512 \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7

// The row of 24 B values into Z8 and Z9: from the packed panel at DI, or
// from the input at DI + 4·off[p] (DSTEP).
#define PACKEDROW512 \
	VMOVUPS (DI), Z8; \
	VMOVUPS.Z 64(DI), K1, Z9

#define DIRECTROW512 \
	MOVLQSX (R9), AX; \
	VMOVUPS (DI)(AX*4), Z8; \
	VMOVUPS.Z 64(DI)(AX*4), K1, Z9

// One k step, as STEP and DSTEP.
#define STEP512(AOFF) \
	PACKEDROW512; \
	FMAS512(AOFF); \
	ADDQ R9, DI

#define DSTEP512(AOFF) \
	DIRECTROW512; \
	FMAS512(AOFF); \
	ADDQ $4, R9

#define SET512(R0, R1) \
	VMOVUPS R0, (DX); \
	VMOVUPS R1, K1, 64(DX); \
	ADDQ R8, DX

#define STORE512(R0, R1) \
	VADDPS (DX), R0, R0; \
	VMOVUPS R0, (DX); \
	VADDPS.Z 64(DX), R1, K1, R1; \
	VMOVUPS R1, K1, 64(DX); \
	ADDQ R8, DX

// Write the four rows of accumulators R0–R7 over C (set) or add them
// into it, then go on at NEXT. Moves DX to the next tile.
#define FINISH512(NEXT, OVERWRITE, R0, R1, R2, R3, R4, R5, R6, R7) \
	CMPB set+56(FP), $0; \
	JNE  OVERWRITE; \
	STORE512(R0, R1); \
	STORE512(R2, R3); \
	STORE512(R4, R5); \
	STORE512(R6, R7); \
	JMP  NEXT; \
OVERWRITE: \
	SET512(R0, R1); \
	SET512(R2, R3); \
	SET512(R4, R5); \
	SET512(R6, R7)

// Two tiles at once share each row of B: the second tile's A panel is
// R14 bytes after the first's, its rows accumulate in Z14–Z21 and its A
// values are broadcast into Z22–Z25.
#define FMAS512B(AOFF) \
	VBROADCASTSS AOFF(SI)(R14*1), Z22; \
	VBROADCASTSS AOFF+4(SI)(R14*1), Z23; \
	VBROADCASTSS AOFF+8(SI)(R14*1), Z24; \
	VBROADCASTSS AOFF+12(SI)(R14*1), Z25; \
	VFMADD231PS Z8, Z22, Z14; \
	VFMADD231PS Z9, Z22, Z15; \
	VFMADD231PS Z8, Z23, Z16; \
	VFMADD231PS Z9, Z23, Z17; \
	VFMADD231PS Z8, Z24, Z18; \
	VFMADD231PS Z9, Z24, Z19; \
	VFMADD231PS Z8, Z25, Z20; \
	VFMADD231PS Z9, Z25, Z21

#define STEP512X2(AOFF) \
	PACKEDROW512; \
	FMAS512(AOFF); \
	FMAS512B(AOFF); \
	ADDQ R9, DI

#define DSTEP512X2(AOFF) \
	DIRECTROW512; \
	FMAS512(AOFF); \
	FMAS512B(AOFF); \
	ADDQ $4, R9

#define ZEROACC512B \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15; \
	VPXORD Z16, Z16, Z16; \
	VPXORD Z17, Z17, Z17; \
	VPXORD Z18, Z18, Z18; \
	VPXORD Z19, Z19, Z19; \
	VPXORD Z20, Z20, Z20; \
	VPXORD Z21, Z21, Z21

// Both tiles of a pair: the first's C rows, then the second's.
#define PREFETCHPAIR \
	PREFETCHC; \
	ADDQ R8, R10; \
	PREFETCH4(PREFETCHROW)

#define ZEROPAIR512 \
	ZEROACC512; \
	ZEROACC512B

// FINISH512 for the first and the second tile's accumulators, in
// FINISH's form.
#define FINISH512A(NEXT, OVERWRITE) FINISH512(NEXT, OVERWRITE, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
#define FINISH512B(NEXT, OVERWRITE) FINISH512(NEXT, OVERWRITE, Z14, Z15, Z16, Z17, Z18, Z19, Z20, Z21)

// R14 is the size of one tile's A panel in bytes (k steps of 4 floats).
#define APANEL \
	MOVQ R11, R14; \
	SHLQ $4, R14

// K1 masks a zmm to the 8 lanes of a row's last third; R14 as APANEL.
#define SETUP512 \
	MOVL  $0xff, AX; \
	KMOVW AX, K1; \
	APANEL

// Pairs of tiles while two are left (one B row feeds twice the FMAs,
// where one tile alone leaves too few independent chains to hide their
// latency): TILES' steps for two tiles, PREF2, ZERO2 and STEP2 doing both
// and FINA and FINB finishing each; then on to TILES' label for a last
// one, or return. R14 is set as APANEL sets it.
#define PAIRS(PREF2, ZERO2, FINA, FINB, RESETB, STEP2) \
pair: \
	CMPQ BX, $2; \
	JLT  tile; \
	MOVQ R11, CX; \
	RESETB; \
	PREF2; \
	ZERO2; \
	KLOOP(STEP2, ploop4, ptail, ploop1, pdone); \
	FINA(psecond, pover1); \
psecond: \
	FINB(pnext, pover2); \
pnext: \
	ADDQ R14, SI; \
	SUBQ $2, BX; \
	JNZ  pair; \
	VZEROUPPER; \
	RET

// func micro4x24AVX2FMA(k int, a *float32, tiles int, b *float32, ldb int, c *float32, ldc int, set bool)
//
// Registers: CX k steps left, SI A (runs on from one tile's panel into the
// next), DI B (back to R12 for each tile), DX C (the four STOREs or SETs
// leave it at the next tile), BX tiles left, R8 ldc and R9 ldb in bytes.
// With set the tile overwrites C instead of adding to it.
TEXT ·micro4x24AVX2FMA(SB), NOSPLIT, $0-57
	PACKEDARGS
	TILES(PREFETCHC, ZEROACC, FINISH, RESETPACKED, STEP)
	VZEROUPPER
	RET

// func micro4x24DirectAVX2FMA(k int, a *float32, tiles int, b *float32, off *int32, c *float32, ldc int, set bool)
//
// micro4x24AVX2FMA with row p of B at b + off[p] (in floats): a
// convolution's panel read in place from its input. Registers as there,
// except DI the base of B for the whole panel and R9 walking off (back to
// R13 for each tile).
TEXT ·micro4x24DirectAVX2FMA(SB), NOSPLIT, $0-57
	DIRECTARGS
	TILES(PREFETCHC, ZEROACC, FINISH, RESETDIRECT, DSTEP)
	VZEROUPPER
	RET

// func micro4x24AVX512(k int, a *float32, tiles int, b *float32, ldb int, c *float32, ldc int, set bool)
//
// micro4x24AVX2FMA in AVX-512; registers as there.
TEXT ·micro4x24AVX512(SB), NOSPLIT, $0-57
	PACKEDARGS
	SETUP512
	PAIRS(PREFETCHPAIR, ZEROPAIR512, FINISH512A, FINISH512B, RESETPACKED, STEP512X2)
	TILES(PREFETCHC, ZEROACC512, FINISH512A, RESETPACKED, STEP512)
	VZEROUPPER
	RET

// func micro4x24DirectAVX512(k int, a *float32, tiles int, b *float32, off *int32, c *float32, ldc int, set bool)
//
// micro4x24DirectAVX2FMA in AVX-512; registers as there.
TEXT ·micro4x24DirectAVX512(SB), NOSPLIT, $0-57
	DIRECTARGS
	SETUP512
	PAIRS(PREFETCHPAIR, ZEROPAIR512, FINISH512A, FINISH512B, RESETDIRECT, DSTEP512X2)
	TILES(PREFETCHC, ZEROACC512, FINISH512A, RESETDIRECT, DSTEP512)
	VZEROUPPER
	RET

// The AVX-512 kernels over two panels side by side: a tile of 4 rows by
// 48 columns, where the 4×24 kernels leave a third of each row's second
// zmm idle. In a direct convolution two neighbouring panels are one run of
// the input, so a row of B is three full zmm loads; packed panels are 24
// wide, so the middle zmm is put together from both (PACKEDROW48). Each
// element of C gets the same chain of FMAs as in the 4×24 kernels: the
// same bits.

// Row i of the first tile accumulates in Z(3i)..Z(3i+2), of the second in
// Z(12+3i)..Z(14+3i); the row of B is in Z24–Z26; A's values are
// broadcast into Z27–Z30.
#define FMAS48(AOFF, A0, A1, A2, A3, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, R11) \
	VBROADCASTSS AOFF+A0, Z27; \
	VBROADCASTSS AOFF+A1, Z28; \
	VBROADCASTSS AOFF+A2, Z29; \
	VBROADCASTSS AOFF+A3, Z30; \
	VFMADD231PS Z24, Z27, R0; \
	VFMADD231PS Z25, Z27, R1; \
	VFMADD231PS Z26, Z27, R2; \
	VFMADD231PS Z24, Z28, R3; \
	VFMADD231PS Z25, Z28, R4; \
	VFMADD231PS Z26, Z28, R5; \
	VFMADD231PS Z24, Z29, R6; \
	VFMADD231PS Z25, Z29, R7; \
	VFMADD231PS Z26, Z29, R8; \
	VFMADD231PS Z24, Z30, R9; \
	VFMADD231PS Z25, Z30, R10; \
	VFMADD231PS Z26, Z30, R11

#define FMAS48A(AOFF) FMAS48(AOFF, 0(SI), 4(SI), 8(SI), 12(SI), Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11)
#define FMAS48B(AOFF) FMAS48(AOFF, 0(SI)(R14*1), 4(SI)(R14*1), 8(SI)(R14*1), 12(SI)(R14*1), Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)

// The row of 48 B values at DI + 4·off[p] into Z24–Z26; R9 moves on.
#define DIRECTROW48 \
	MOVLQSX (R9), AX; \
	VMOVUPS (DI)(AX*4), Z24; \
	VMOVUPS 64(DI)(AX*4), Z25; \
	VMOVUPS 128(DI)(AX*4), Z26; \
	ADDQ $4, R9

#define DSTEP48(AOFF) \
	DIRECTROW48; \
	FMAS48A(AOFF)

#define DSTEP48X2(AOFF) \
	DIRECTROW48; \
	FMAS48A(AOFF); \
	FMAS48B(AOFF)

#define ZERO12(R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, R11) \
	VPXORD R0, R0, R0; \
	VPXORD R1, R1, R1; \
	VPXORD R2, R2, R2; \
	VPXORD R3, R3, R3; \
	VPXORD R4, R4, R4; \
	VPXORD R5, R5, R5; \
	VPXORD R6, R6, R6; \
	VPXORD R7, R7, R7; \
	VPXORD R8, R8, R8; \
	VPXORD R9, R9, R9; \
	VPXORD R10, R10, R10; \
	VPXORD R11, R11, R11

// A row of 48 in three zmm registers.
#define SET48(R0, R1, R2) SETAT(64, 128, R0, R1, R2)
#define STORE48(R0, R1, R2) STOREAT(64, 128, R0, R1, R2)

// FINISH3 for the first and the second 4×48 tile, in FINISH's form.
#define FINISH48A(NEXT, OVERWRITE) FINISH3(NEXT, OVERWRITE, STORE48, SET48, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11)
#define FINISH48B(NEXT, OVERWRITE) FINISH3(NEXT, OVERWRITE, STORE48, SET48, Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)

#define ZEROACC48A ZERO12(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11)
#define ZEROPAIR48 \
	ZEROACC48A; \
	ZERO12(Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)

// Fetch the up to 4 cache lines of one 192-byte row of C at R10.
#define PREFETCHROW48 \
	PREFETCHT0 (R10); \
	PREFETCHT0 64(R10); \
	PREFETCHT0 128(R10); \
	PREFETCHT0 188(R10)

// PREFETCHC and PREFETCHPAIR for 4×48 tiles.
#define PREFETCHC48 \
	MOVQ DX, R10; \
	PREFETCH4(PREFETCHROW48)

#define PREFETCHPAIR48 \
	PREFETCHC48; \
	ADDQ R8, R10; \
	PREFETCH4(PREFETCHROW48)

// Row p of two packed panels side by side: the first at DI, the second
// R13 bytes on (k rows of B further); the middle zmm takes the first
// panel's last 8 values and the second's first 8.
#define PACKEDROW48 \
	VMOVUPS (DI), Z24; \
	VMOVUPS 64(DI), Y25; \
	VINSERTF64X4 $1, (DI)(R13*1), Z25, Z25; \
	VMOVUPS 32(DI)(R13*1), Z26

#define STEP48(AOFF) \
	PACKEDROW48; \
	FMAS48A(AOFF); \
	ADDQ R9, DI

#define STEP48X2(AOFF) \
	PACKEDROW48; \
	FMAS48A(AOFF); \
	FMAS48B(AOFF); \
	ADDQ R9, DI

// func micro4x48AVX512(k int, a *float32, tiles int, b *float32, ldb int, c *float32, ldc int, set bool)
//
// micro4x24AVX512 over two packed panels side by side, the second k rows
// of ldb after the first: tiles of 4×48. Registers as there; R13 is the
// second panel's offset in bytes.
TEXT ·micro4x48AVX512(SB), NOSPLIT, $0-57
	PACKEDARGS
	MOVQ  R9, R13
	IMULQ R11, R13
	APANEL
	PAIRS(PREFETCHPAIR48, ZEROPAIR48, FINISH48A, FINISH48B, RESETPACKED, STEP48X2)
	TILES(PREFETCHC48, ZEROACC48A, FINISH48A, RESETPACKED, STEP48)
	VZEROUPPER
	RET

// func micro4x48DirectAVX512(k int, a *float32, tiles int, b *float32, off *int32, c *float32, ldc int, set bool)
//
// micro4x24DirectAVX512 over 48 columns: row p of B is the 48 floats at
// b + off[p] (two neighbouring panels of a convolution are one run of its
// input). Registers as in the other direct kernels.
TEXT ·micro4x48DirectAVX512(SB), NOSPLIT, $0-57
	DIRECTARGS
	APANEL
	PAIRS(PREFETCHPAIR48, ZEROPAIR48, FINISH48A, FINISH48B, RESETDIRECT, DSTEP48X2)
	TILES(PREFETCHC48, ZEROACC48A, FINISH48A, RESETDIRECT, DSTEP48)
	VZEROUPPER
	RET

// func packB4AVX(dst, b *float32, ldb, panels, stride int)
//
// For each of panels panels: 24 floats from each of four rows of b (SI and
// R10–R12, ldb apart) to 96 contiguous floats at DI; then every source
// moves on by 96 bytes and DI by stride.
TEXT ·packB4AVX(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ ldb+16(FP), R8
	SHLQ $2, R8
	MOVQ panels+24(FP), CX
	MOVQ stride+32(FP), R9
	SHLQ $2, R9
	LEAQ (SI)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12

panel:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS (R10), Y3
	VMOVUPS 32(R10), Y4
	VMOVUPS 64(R10), Y5
	VMOVUPS (R11), Y6
	VMOVUPS 32(R11), Y7
	VMOVUPS 64(R11), Y8
	VMOVUPS (R12), Y9
	VMOVUPS 32(R12), Y10
	VMOVUPS 64(R12), Y11
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	VMOVUPS Y8, 256(DI)
	VMOVUPS Y9, 288(DI)
	VMOVUPS Y10, 320(DI)
	VMOVUPS Y11, 352(DI)
	ADDQ $96, SI
	ADDQ $96, R10
	ADDQ $96, R11
	ADDQ $96, R12
	ADDQ R9, DI
	DECQ CX
	JNZ  panel
	VZEROUPPER
	RET

// func gatherAVX(dst, in *float32, off *int32, rows, panels, stride int)
//
// For each of rows rows p: 24·panels contiguous floats from in+off[p],
// 24 at a time, to dst + p·24 + q·stride for panel q. The source row is
// read in order, so the hardware prefetcher follows it.
TEXT ·gatherAVX(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ in+8(FP), SI
	MOVQ off+16(FP), DX
	MOVQ rows+24(FP), CX
	MOVQ stride+40(FP), R9
	SHLQ $2, R9

row:
	MOVLQSX (DX), AX
	LEAQ    (SI)(AX*4), R10
	MOVQ    DI, R11
	MOVQ    panels+32(FP), BX

panel:
	VMOVUPS (R10), Y0
	VMOVUPS 32(R10), Y1
	VMOVUPS 64(R10), Y2
	VMOVUPS Y0, (R11)
	VMOVUPS Y1, 32(R11)
	VMOVUPS Y2, 64(R11)
	ADDQ    $96, R10
	ADDQ    R9, R11
	DECQ    BX
	JNZ     panel
	ADDQ    $4, DX
	ADDQ    $96, DI
	DECQ    CX
	JNZ     row
	VZEROUPPER
	RET

// func packBT8AVX(dst, bt *float32, ldbt, blocks int)
//
// Transposes eight rows of bt (ldbt apart), blocks·8 values each, into
// blocks·8 rows of eight values at dst, nr (24) floats apart: an 8×8
// block at a time, in registers (unpack pairs, shuffle quads, swap
// halves). The rows are columns of B, so dst gets a panel's eight columns.
TEXT ·packBT8AVX(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ bt+8(FP), SI
	MOVQ ldbt+16(FP), R8
	SHLQ $2, R8
	MOVQ blocks+24(FP), CX
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10

block8:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R9*1), Y3
	VMOVUPS (R10), Y4
	VMOVUPS (R10)(R8*1), Y5
	VMOVUPS (R10)(R8*2), Y6
	VMOVUPS (R10)(R9*1), Y7
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 96(DI)
	VMOVUPS Y10, 192(DI)
	VMOVUPS Y11, 288(DI)
	VMOVUPS Y12, 384(DI)
	VMOVUPS Y13, 480(DI)
	VMOVUPS Y14, 576(DI)
	VMOVUPS Y15, 672(DI)
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $768, DI
	DECQ CX
	JNZ  block8
	VZEROUPPER
	RET
