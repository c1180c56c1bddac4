/* SPDX-License-Identifier: MIT */
/*
 * Static /init for the Linux e2e test: gets a console, proves user space runs with a few
 * system calls (mount, uname, reading /proc), prints a marker, and reboots, which the
 * kernel does through the i8042 (reboot=k) so mvmm exits 0.  Few syscalls on purpose: each
 * one is slow on PVM hosts.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/utsname.h>

int main(void)
{
	struct utsname u;
	char buf[4096];
	int fd, n;

	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}
	mount("proc", "/proc", "proc", 0, NULL);
	if (uname(&u) == 0)
		printf("linux-init: kernel %s %s\n", u.release, u.machine);
	fd = open("/proc/cmdline", O_RDONLY);
	n = fd >= 0 ? (int)read(fd, buf, sizeof(buf) - 1) : -1;
	if (n > 0) {
		buf[n] = 0;
		buf[strcspn(buf, "\n")] = 0;
		printf("linux-init: cmdline %s\n", buf);
	}
	printf("MVMM-LINUX-INIT-OK pid %d\n", (int)getpid());
	fflush(stdout);
	sync();
	reboot(RB_AUTOBOOT);
	return 1;
}
