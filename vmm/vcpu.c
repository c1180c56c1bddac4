/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>

#include "vcpu.h"
#include "vm.h"
#include "util.h"
#include "arch/x86/cpu.h"

static void kick_handler(int sig)
{
	(void)sig;
	/* Nothing: the kicker already set immediate_exit; the signal only interrupts KVM_RUN. */
}

int vcpu_signal_setup(void)
{
	struct sigaction sa;

	/* Installing the same handler again is harmless, so no "done" flag (and no global). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return -errno;
	return 0;
}

int vcpu_create(struct vm *vm, unsigned int id, struct vcpu **out)
{
	struct vcpu *vcpu = calloc(1, sizeof(*vcpu));
	int err;

	if (!vcpu)
		return -ENOMEM;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		err = -errno;
		goto err_free;
	}
	vcpu->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd,
			 0);
	if (vcpu->run == MAP_FAILED) {
		err = -errno;
		vcpu->run = NULL;
		goto err_close;
	}
	/* A fork()ed process must not be able to write this vCPU's run page. */
	madvise(vcpu->run, (size_t)vm->run_size, MADV_DONTFORK);
	err = x86_vcpu_init(vm, vcpu);
	if (err)
		goto err_unmap;
	*out = vcpu;
	return 0;

err_unmap:
	munmap(vcpu->run, (size_t)vm->run_size);
err_close:
	close(vcpu->fd);
err_free:
	free(vcpu);
	return err;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (!vcpu)
		return;
	if (vcpu->run)
		munmap(vcpu->run, (size_t)vcpu->vm->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	free(vcpu);
}

void vcpu_kick(struct vcpu *vcpu)
{
	/* Order: immediate_exit first, then the signal (see the header). */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (vcpu->thread_started)
		pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/* KVM fills data_offset inside the run page; check anyway before trusting it. */
	if (run->io.data_offset + (uint64_t)run->io.size * run->io.count > (uint64_t)vcpu->vm->run_size)
		return;
	for (uint32_t i = 0; i < run->io.count; i++) {
		if (!bus_access(&vcpu->vm->pio, run->io.port, data, run->io.size, is_write))
			pr_debug(&vcpu->vm->log, "vcpu", "unhandled port %s 0x%x size %u",
				 is_write ? "write" : "read", run->io.port, run->io.size);
		data += run->io.size;
	}
}

static void vcpu_handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint32_t len = run->mmio.len;

	if (len == 0 || len > sizeof(run->mmio.data))
		return;
	if (!bus_access(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, len,
			run->mmio.is_write))
		log_guest(&vcpu->vm->log, "vcpu", "vcpu%u: unhandled MMIO %s at 0x%llx len %u",
			  vcpu->id, run->mmio.is_write ? "write" : "read",
			  (unsigned long long)run->mmio.phys_addr, len);
}

/*
 * Park until resumed or stopped.  Before parking, enter KVM_RUN once more with immediate_exit
 * set: KVM completes a pending port/MMIO exit (the result we just put in the run page) and
 * returns EINTR without running guest code, so the saved registers are consistent.
 * Returns true when the thread must exit.
 */
static bool vcpu_park(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	bool stop;

	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (ioctl(vcpu->fd, KVM_RUN, 0) == 0)
		pr_debug(&vm->log, "vcpu", "vcpu%u: completion run returned an exit", vcpu->id);
	pthread_mutex_lock(&vm->lock);
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->cond);
	while (vm->pause_req && !vm->stop_req) {
		/*
		 * Work posted by vm_run_on_vcpus() (state capture): run it here, on this vCPU's own
		 * thread, without the VM lock so all vCPUs work in parallel.
		 */
		if (vcpu->work_seq != vm->vcpu_work_seq) {
			uint64_t seq = vm->vcpu_work_seq;
			int (*fn)(struct vcpu *, void *) = vm->vcpu_work_fn;
			void *arg = vm->vcpu_work_arg;
			int err;

			pthread_mutex_unlock(&vm->lock);
			err = fn(vcpu, arg);
			pthread_mutex_lock(&vm->lock);
			vcpu->work_err = err;
			vcpu->work_seq = seq;
			pthread_cond_broadcast(&vm->cond);
			continue;
		}
		pthread_cond_wait(&vm->cond, &vm->lock);
	}
	vm->nr_parked--;
	stop = vm->stop_req;
	pthread_mutex_unlock(&vm->lock);
	__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	return stop;
}

static bool vcpu_should_park(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	return __atomic_load_n(&vm->pause_req, __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&vm->stop_req, __ATOMIC_ACQUIRE);
}

/* Handle one exit; returns false when the VM must stop. */
static bool vcpu_dispatch(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(vcpu);
		return true;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel irqchip; treat as idle and keep going. */
		return true;
	case KVM_EXIT_SHUTDOWN:
		pr_err(&vm->log, "vcpu", "vcpu%u: guest shutdown (triple fault)", vcpu->id);
		vm_request_stop(vm, MVMM_STOP_CRASH, 0, 0);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		pr_info(&vm->log, "vcpu", "vcpu%u: system event %u", vcpu->id,
			run->system_event.type);
		vm_request_stop(vm, run->system_event.type == KVM_SYSTEM_EVENT_CRASH ?
				MVMM_STOP_CRASH : MVMM_STOP_RESET, 0, 0);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		pr_err(&vm->log, "vcpu", "vcpu%u: entry failed, reason 0x%llx", vcpu->id,
		       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vm_request_stop(vm, MVMM_STOP_CRASH, 0, 0);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		pr_err(&vm->log, "vcpu", "vcpu%u: KVM internal error, suberror %u", vcpu->id,
		       run->internal.suberror);
		x86_vcpu_log_regs(vcpu);
		vm_request_stop(vm, MVMM_STOP_CRASH, 0, 0);
		return false;
	default:
		pr_err(&vm->log, "vcpu", "vcpu%u: unexpected exit reason %u", vcpu->id,
		       run->exit_reason);
		x86_vcpu_log_regs(vcpu);
		vm_request_stop(vm, MVMM_STOP_CRASH, 0, 0);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	sigset_t set;

	/* The kick signal must be deliverable here (the creator may block it). */
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	for (;;) {
		if (vcpu_should_park(vcpu) && vcpu_park(vcpu))
			break;
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				/* A kick: clear it; the check at the top decides what to do. */
				__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				continue;
			}
			pr_err(&vm->log, "vcpu", "vcpu%u: KVM_RUN: %s", vcpu->id,
			       mvmm_strerror(-errno));
			vm_request_stop(vm, MVMM_STOP_ERROR, 0, -errno);
			break;
		}
		__atomic_fetch_add(&vcpu->exits, 1, __ATOMIC_RELAXED);
		if (!vcpu_dispatch(vcpu))
			break;
	}

	pthread_mutex_lock(&vm->lock);
	vm->nr_exited++;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	loop_wake(&vm->loop);
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	int err = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);

	if (err)
		return -err;
	vcpu->thread_started = true;
	return 0;
}

int vcpu_join(struct vcpu *vcpu)
{
	int err;

	if (!vcpu->thread_started)
		return 0;
	err = pthread_join(vcpu->thread, NULL);
	vcpu->thread_started = false;
	return -err;
}
