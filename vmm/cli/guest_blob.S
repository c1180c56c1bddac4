/* SPDX-License-Identifier: MIT */
/* The test guest ELF, embedded so that `mvmm run` boots something with no arguments. */
	.section .rodata
	.balign 16
	.globl mvmm_guest_elf_start
	.globl mvmm_guest_elf_end
mvmm_guest_elf_start:
	.incbin MVMM_GUEST_ELF_PATH
mvmm_guest_elf_end:
	.section .note.GNU-stack, "", @progbits
