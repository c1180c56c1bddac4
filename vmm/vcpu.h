/* SPDX-License-Identifier: MIT */
/*
 * vCPU threads.  Each runs KVM_RUN in a loop and dispatches port-I/O and MMIO exits to the
 * VM's buses.
 *
 * Kick: the kicker stores 1 into kvm_run->immediate_exit and then sends VCPU_KICK_SIGNAL to
 * the thread (handler empty).  A vCPU inside KVM_RUN leaves with EINTR; one about to enter
 * returns at once because immediate_exit is set.  No window is lost, so a pause cannot hang.
 *
 * Run states, per vCPU thread:
 *
 *   RUNNING --(pause_req or stop_req seen)--> one KVM_RUN with immediate_exit=1
 *      ^                                         (completes a pending I/O exit so the
 *      |                                          register state is consistent)
 *      |                                            |
 *      +------- resume (pause_req cleared) <--- PARKED ---stop_req---> EXITED
 */
#ifndef MVMM_VMM_VCPU_H
#define MVMM_VMM_VCPU_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct kvm_run;

/* Real-time signal used to kick vCPU threads; its handler does nothing. */
#define VCPU_KICK_SIGNAL (SIGRTMIN + 4)

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;				/* owned */
	struct kvm_run *run;		/* owned mapping of vm->run_size bytes */
	pthread_t thread;
	bool thread_started;
	uint64_t exits;			/* KVM_RUN returns, for metrics */
	uint64_t work_seq;		/* last vm->vcpu_work_seq this thread ran (vm->lock) */
	int work_err;			/* its result (vm->lock) */
};

int vcpu_create(struct vm *vm, unsigned int id, struct vcpu **out);
void vcpu_destroy(struct vcpu *vcpu);
int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
int vcpu_join(struct vcpu *vcpu);
/* Install the (empty) kick handler once per process; idempotent. */
int vcpu_signal_setup(void);

#endif /* MVMM_VMM_VCPU_H */
