/* SPDX-License-Identifier: MIT */
/*
 * mvmm test guest: 64-bit entry, exception stubs, the CPL0 <-> CPL3 switch and the AP start-up
 * trampoline.
 */
#include "guest.h"

/* The vectors with a stub, in isr_table order: the exceptions, then IPI, spurious, virtio. */
#define ISR_VECTORS	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, \
			20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, IPI_VECTOR, SPURIOUS_VECTOR, \
			VIRTIO_VECTOR

/* Error-code-pushing exception vectors; the stubs push a zero for all others. */
#define HAS_ERRCODE(v)	((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || \
			 (v) == 21 || (v) == 29 || (v) == 30)

/*
 * The VMM enters here in long mode with the Linux 64-bit boot protocol: %rsi = boot_params,
 * interrupts off, an identity map of the low 4 GiB, and no usable stack.
 */
	.section .text.entry, "ax"
	.code64
	.globl guest_entry
guest_entry:
	cli
	cld
	mov	$boot_stack_top, %rsp
	mov	%rsi, %rbx
	/* .bss is kept small: rep stos is emulated per iteration at CPL0 on PVM. */
	mov	$__bss_start, %edi
	mov	$__bss_end, %ecx
	sub	%edi, %ecx
	shr	$3, %ecx
	xor	%eax, %eax
	rep stosq
	mov	%rbx, %rdi
	call	guest_main
1:	cli
	hlt
	jmp	1b

/*
 * u64 user_run(struct cpu *c, u64 rip, u64 rsp, u64 arg)
 *
 * Saves the callee-saved registers on this kernel stack, points the TSS's rsp0 just below them
 * (so exceptions from CPL3 land on this stack without touching the saved frame) and enters CPL3
 * at rip with %rdi = arg and interrupts off.  It "returns" when the trap handler calls
 * user_return() for an HC_EXIT hypercall.
 */
	.text
	.globl user_run
user_run:
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, CPU_KERNEL_RSP(%rdi)
	mov	CPU_TSS(%rdi), %rax
	mov	%rsp, TSS_RSP0(%rax)
	pushq	$(SEL_UDATA | 3)		/* ss */
	push	%rdx				/* rsp */
	pushq	$0x2				/* rflags: IF=0, reserved bit 1 */
	pushq	$(SEL_UCODE | 3)		/* cs */
	push	%rsi				/* rip */
	mov	%rcx, %rdi
	/* Kernel values have no business in user registers. */
	xor	%eax, %eax
	xor	%ebx, %ebx
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%ebp, %ebp
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	xor	%r12d, %r12d
	xor	%r13d, %r13d
	xor	%r14d, %r14d
	xor	%r15d, %r15d
	iretq

/*
 * void user_return(struct cpu *c, u64 value)
 *
 * Called on the trap stack frame of an HC_EXIT; abandons that frame and returns `value` from
 * the user_run() call that entered CPL3.  The exception from CPL3 loaded a null %ss, and the
 * iretq to CPL3 nulled %ds/%es, so reload them.
 */
	.globl user_return
user_return:
	mov	CPU_KERNEL_RSP(%rdi), %rsp
	mov	$SEL_KDATA, %eax
	mov	%eax, %ss
	mov	%eax, %ds
	mov	%eax, %es
	mov	%rsi, %rax
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret

/* Exception stubs: make every frame look alike (error code, vector) and call trap_handle(). */
.macro ISR vec
isr_\vec:
	.if !HAS_ERRCODE(\vec)
	pushq	$0
	.endif
	pushq	$\vec
	jmp	isr_common
.endm

.irp vec, ISR_VECTORS
	ISR \vec
.endr

isr_common:
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	cld
	mov	%rsp, %rdi
	call	trap_handle
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
	add	$16, %rsp
	iretq

	.section .rodata
	.balign 8
	.globl isr_table
isr_table:					/* vectors 0..31, IPI, spurious, virtio */
.irp vec, ISR_VECTORS
	.quad	isr_\vec
.endr

/*
 * AP start-up trampoline, copied to TRAMP_ADDR by smp.c.  A SIPI with vector TRAMP_ADDR >> 12
 * starts the AP here in real mode with CS base TRAMP_ADDR and the other segments at base 0.
 * It walks real -> 32-bit protected -> long mode, writing its progress into tramp_stage so the
 * BSP can say how far an AP got.  tramp_data must match struct tramp_data in smp.c.
 */
#define TRAMP(sym)	(TRAMP_ADDR + ((sym) - tramp_start))

	.section .rodata.tramp, "a"
	.code16
	.globl tramp_start
tramp_start:
	movl	$1, TRAMP(tramp_stage)		/* first: proves real mode ran at all */
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	lgdtl	TRAMP(tramp_gdtr)
	mov	%cr0, %eax
	or	$1, %eax			/* PE */
	mov	%eax, %cr0
	ljmpl	$SEL_KCODE32, $TRAMP(tramp_pm32)

	.code32
tramp_pm32:
	mov	$SEL_KDATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	xor	%eax, %eax
	mov	%eax, %fs
	mov	%eax, %gs
	movl	$2, TRAMP(tramp_stage)
	mov	$0x20, %eax			/* CR4.PAE */
	mov	%eax, %cr4
	mov	TRAMP(tramp_cr3), %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx		/* EFER */
	rdmsr
	or	$0x100, %eax			/* LME */
	wrmsr
	mov	$0x80010033, %eax		/* PG | WP | NE | ET | MP | PE */
	mov	%eax, %cr0
	ljmp	$SEL_KCODE, $TRAMP(tramp_lm64)

	.code64
tramp_lm64:
	movl	$3, TRAMP(tramp_stage)
	mov	TRAMP(tramp_stack), %rsp
	mov	TRAMP(tramp_arg), %rdi
	mov	TRAMP(tramp_entry), %rax
	call	*%rax
1:	cli
	hlt
	jmp	1b

	.balign 8
	.globl tramp_data
tramp_data:
	.word	0
tramp_gdtr:
	.word	0				/* limit */
	.long	0				/* base */
tramp_stage:
	.long	0
tramp_cr3:
	.long	0
tramp_stack:
	.quad	0
tramp_arg:
	.quad	0
tramp_entry:
	.quad	0
	.globl tramp_end
tramp_end:

/* The BSP's boot stack; not zeroed, so it stays out of .bss. */
	.section .stack, "aw", @nobits
	.balign 4096
boot_stack:
	.skip	KERNEL_STACK_SIZE
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
