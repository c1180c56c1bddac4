/* SPDX-License-Identifier: MIT */
/* `mvmm run`: flags -> struct mvmm_config -> create/start/wait. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "cli.h"
#include "config_json.h"

#define DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=-1"

struct run_opts {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	uint64_t mem;
	unsigned long cpus;
	const char *serial;
	const char *api_sock;
	const char *name;
	enum mvmm_log_level log_level;
	struct mvmm_disk_config disks[MVMM_MAX_DISKS];
	char disk_specs[MVMM_MAX_DISKS][PATH_MAX + 64];	/* owned copies the disks point into */
	unsigned int nr_disks;
	bool rng;
	const char *restore_dir;	/* `mvmm restore DIR` */
	bool machine_flags;		/* a flag that only `run` takes was given */
};

static void run_usage(FILE *f)
{
	fputs("usage: mvmm run [options]\n"
	      "  --kernel FILE      ELF vmlinux or bzImage (64-bit entry); default: the\n"
	      "                     embedded mvmm test guest\n"
	      "  --initrd FILE      initial ramdisk\n"
	      "  --cmdline STRING   kernel command line (default \"" DEFAULT_CMDLINE "\")\n"
	      "  --mem SIZE         guest RAM, e.g. 256M, 1G (default 256M; multiple of 2M)\n"
	      "  --cpus N           vCPUs, 1-64 (default 1)\n"
	      "  --serial MODE      stdio (default), file:PATH, or none\n"
	      "  --disk PATH[,ro][,id=ID]  virtio-blk disk on a raw image (repeatable, up to 8)\n"
	      "  --rng              add a virtio-rng device\n"
	      "  --config FILE      JSON config (schema in docs/api.md); flags override it\n"
	      "  --api-sock PATH    serve the control API (HTTP+JSON) on this unix socket\n"
	      "  --name NAME        serve it as <runtime dir>/NAME.sock (see 'mvmm ls')\n"
	      "  --log-level LEVEL  error, warn (default), info or debug\n"
	      "  -h, --help         this text\n",
	      f);
}

/* A readable regular file, or a one-line error and exit code 66. */
static int check_input_file(const char *what, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0 || access(path, R_OK) < 0) {
		cli_error("%s '%s': %s", what, path, strerror(errno));
		return CLI_EXIT_NOINPUT;
	}
	if (!S_ISREG(st.st_mode)) {
		cli_error("%s '%s': not a regular file", what, path);
		return CLI_EXIT_NOINPUT;
	}
	if (st.st_size == 0) {
		cli_error("%s '%s': empty file", what, path);
		return CLI_EXIT_DATAERR;
	}
	return 0;
}

static int parse_level(const char *s, enum mvmm_log_level *out)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum mvmm_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* "PATH[,ro][,id=ID]": the path may not contain ','; ids are 1-20 bytes. */
static int parse_disk(struct run_opts *o, const char *spec)
{
	struct mvmm_disk_config *d;
	char *copy, *opt, *save = NULL;

	if (o->nr_disks == MVMM_MAX_DISKS) {
		cli_error("--disk '%s': at most %d disks", spec, MVMM_MAX_DISKS);
		return -1;
	}
	if (strlen(spec) >= sizeof(o->disk_specs[0])) {
		cli_error("--disk: path too long");
		return -1;
	}
	copy = o->disk_specs[o->nr_disks];
	strcpy(copy, spec);
	d = &o->disks[o->nr_disks];
	memset(d, 0, sizeof(*d));
	d->size = sizeof(*d);
	d->path = strtok_r(copy, ",", &save);
	if (!d->path || !*d->path || spec[0] == ',') {
		cli_error("--disk '%s': need PATH[,ro][,id=ID]", spec);
		return -1;
	}
	while ((opt = strtok_r(NULL, ",", &save))) {
		if (strcmp(opt, "ro") == 0) {
			d->read_only = 1;
		} else if (strncmp(opt, "id=", 3) == 0 && opt[3] && strlen(opt + 3) <= 20) {
			d->id = opt + 3;
		} else {
			cli_error("--disk '%s': unknown option '%s' (need ro or id=ID of 1-20 bytes)",
				  spec, opt);
			return -1;
		}
	}
	o->nr_disks++;
	return 0;
}

static int parse_args(int argc, char **argv, struct run_opts *o)
{
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' },
		{ "mem", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'n' },
		{ "serial", required_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "api-sock", required_argument, NULL, 'a' },
		{ "disk", required_argument, NULL, 'd' },
		{ "rng", no_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'C' },
		{ "name", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *end;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o->machine_flags = true;
			o->kernel = optarg;
			break;
		case 'i':
			o->machine_flags = true;
			o->initrd = optarg;
			break;
		case 'c':
			o->machine_flags = true;
			o->cmdline = optarg;
			break;
		case 'm':
			o->machine_flags = true;
			if (mvmm_parse_size(optarg, &o->mem) < 0 || o->mem < 16ULL << 20 ||
			    (o->mem & ((2ULL << 20) - 1)) || o->mem > (1ULL << 40)) {
				cli_error("--mem '%s': need a size such as 256M or 1G, a multiple "
					  "of 2M between 16M and 1T", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'n':
			o->machine_flags = true;
			errno = 0;
			o->cpus = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || o->cpus < 1 ||
			    o->cpus > MVMM_MAX_CPUS) {
				cli_error("--cpus '%s': need a number from 1 to %d", optarg,
					  MVMM_MAX_CPUS);
				return CLI_EXIT_USAGE;
			}
			break;
		case 's':
			if (strcmp(optarg, "stdio") && strcmp(optarg, "none") &&
			    (strncmp(optarg, "file:", 5) || !optarg[5])) {
				cli_error("--serial '%s': need stdio, none or file:PATH", optarg);
				return CLI_EXIT_USAGE;
			}
			o->serial = optarg;
			break;
		case 'l':
			if (parse_level(optarg, &o->log_level)) {
				cli_error("--log-level '%s': need error, warn, info or debug", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'a':
			if (!*optarg || strlen(optarg) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
				cli_error("--api-sock '%s': need a path shorter than 108 bytes", optarg);
				return CLI_EXIT_USAGE;
			}
			o->api_sock = optarg;
			break;
		case 'N':
			if (!*optarg || strchr(optarg, '/') || optarg[0] == '.' ||
			    strlen(optarg) > 64) {
				cli_error("--name '%s': need 1-64 characters, no '/', not starting "
					  "with '.'", optarg);
				return CLI_EXIT_USAGE;
			}
			o->name = optarg;
			break;
		case 'd':
			o->machine_flags = true;
			if (parse_disk(o, optarg))
				return CLI_EXIT_USAGE;
			break;
		case 'r':
			o->machine_flags = true;
			o->rng = true;
			break;
		case 'C':
			o->machine_flags = true;
			break;	/* loaded before the flags by apply_config() */
		case 'h':
			run_usage(stdout);
			return -1;
		case ':':
			cli_error("option '%s' needs a value", argv[optind - 1]);
			return CLI_EXIT_USAGE;
		default:
			cli_error("unknown option '%s' (try 'mvmm run --help')", argv[optind - 1]);
			return CLI_EXIT_USAGE;
		}
	}
	if (o->restore_dir) {
		/* `mvmm restore DIR`: the machine comes from the snapshot. */
		if (o->machine_flags) {
			cli_error("restore takes the machine from the snapshot: only --serial, "
				  "--api-sock, --name and --log-level apply");
			return CLI_EXIT_USAGE;
		}
		if (optind + 1 != argc) {
			cli_error("'mvmm restore' needs one snapshot directory");
			return CLI_EXIT_USAGE;
		}
		o->restore_dir = argv[optind++];
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s' (try 'mvmm run --help')", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (o->api_sock && o->name) {
		cli_error("--api-sock and --name both name the API socket: give one");
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* The --config FILE argument, if any (a first pass: the file gives defaults, flags win). */
static const char *find_config_arg(int argc, char **argv)
{
	const char *path = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
	}
	return path;
}

static int apply_config(struct json_config *jc, const char *path, struct run_opts *o)
{
	char err[256];
	int rc = json_config_load(path, jc, err, sizeof(err));

	if (rc) {
		cli_error("--config '%s': %s", path, err);
		return rc == -ENOENT || rc == -EACCES ? CLI_EXIT_NOINPUT : CLI_EXIT_USAGE;
	}
	if (jc->has_mem)
		o->mem = jc->mem_bytes;
	if (jc->has_cpus)
		o->cpus = jc->cpus;
	if (jc->has_log_level)
		o->log_level = jc->log_level;
	o->rng = jc->rng;
	for (unsigned int i = 0; i < jc->nr_disks; i++) {
		struct mvmm_disk_config *d = &o->disks[o->nr_disks++];

		memset(d, 0, sizeof(*d));
		d->size = sizeof(*d);
		d->path = jc->disks[i].path;
		d->id = jc->disks[i].id;
		d->read_only = jc->disks[i].ro;
	}
	o->kernel = jc->kernel;
	o->initrd = jc->initrd;
	o->cmdline = jc->cmdline;
	if (jc->serial)
		o->serial = jc->serial;
	o->api_sock = jc->api_sock;
	return 0;
}

static void pr_cli_warn_fork(int err)
{
	fprintf(stderr, "mvmm: warning: fork disabled: %s\n", mvmm_strerror(err));
}

/* Socket path for --name: the runtime dir (created 0700) + NAME.sock. */
static int name_sock(const char *name, char *buf, size_t len)
{
	char dir[PATH_MAX];

	cli_runtime_dir(dir, sizeof(dir));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		cli_error("runtime dir '%s': %s", dir, strerror(errno));
		return CLI_EXIT_NOINPUT;
	}
	cli_sock_path(name, buf, len);
	return 0;
}

/* Console input without line buffering or echo; Ctrl-C still stops the VM. */
static bool tty_raw(struct termios *saved)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, saved) < 0)
		return false;
	t = *saved;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_iflag &= ~(tcflag_t)(ICRNL);
	return tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
}

/*
 * Block the stop signals in every thread (call before any VM thread exists); the main thread
 * takes them from the returned signalfd.  A shell starts background jobs with SIGINT ignored,
 * which would discard it before the signalfd sees it: stopping a VM with SIGINT must work, so
 * restore the default first.  SIGHUP stays ignored when it is (nohup).
 */
int cli_stop_signals_fd(void)
{
	sigset_t sigs;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if (signal(SIGHUP, SIG_IGN) != SIG_IGN) {
		signal(SIGHUP, SIG_DFL);
		sigaddset(&sigs, SIGHUP);
	}
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	return signalfd(-1, &sigs, SFD_CLOEXEC);
}

/*
 * Let `PUT /vm/fork` spawn this binary; children's sockets and logs go to the runtime dir.
 * "/proc/self/exe" names the very file this process runs, even if it was replaced or deleted
 * since (an upgrade): parent and children always run the same mvmm.
 */
int cli_enable_fork(mvmm_vm *vm)
{
	char dir[PATH_MAX];

	cli_runtime_dir(dir, sizeof(dir));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return mvmm_vm_enable_fork(vm, "/proc/self/exe", dir, CLI_FORK_POOL);
}

static int exit_code(const struct mvmm_exit_info *info)
{
	switch (info->reason) {
	case MVMM_STOP_RESET:
		return info->guest_code > CLI_EXIT_GUEST_MAX ? CLI_EXIT_GUEST_MAX
							     : (int)info->guest_code;
	case MVMM_STOP_CRASH:
		return CLI_EXIT_CRASH;
	case MVMM_STOP_REQUESTED:
		return 0;
	default:
		return CLI_EXIT_SOFTWARE;
	}
}

/* Wait for the VM to stop or a signal to arrive; returns the process exit code. */
int cli_supervise(mvmm_vm *vm, int sfd)
{
	struct pollfd pfd[2] = {
		{ .fd = sfd, .events = POLLIN },
		{ .fd = mvmm_vm_event_fd(vm), .events = POLLIN },
	};
	struct mvmm_exit_info info = { .size = sizeof(info) };
	int signo = 0;

	while (mvmm_vm_get_state(vm) != MVMM_VM_STOPPED) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si) && !signo) {
				signo = (int)si.ssi_signo;
				mvmm_vm_stop(vm);
			}
		}
		if (pfd[1].revents & POLLIN) {
			uint64_t v;

			if (read(pfd[1].fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				break;
		}
	}
	mvmm_vm_wait(vm, &info);
	if (signo)
		return CLI_EXIT_SIGNAL_BASE + signo;
	return exit_code(&info);
}

static int run_with(struct json_config *jc, int argc, char **argv, bool restore)
{
	static struct run_opts o;	/* large (disk specs); cmd_run runs once per process */
	struct cli_log cl;
	struct mvmm_config cfg = { .size = sizeof(cfg) };
	struct termios saved;
	char sock_buf[PATH_MAX];
	const char *config_path;
	bool raw = false;
	mvmm_vm *vm = NULL;
	int rc, err, sfd, out_fd = STDOUT_FILENO, in_fd = STDIN_FILENO;

	o.mem = 256ULL << 20;
	o.cpus = 1;
	o.serial = "stdio";
	o.log_level = MVMM_LOG_WARN;
	o.restore_dir = restore ? "" : NULL;
	config_path = restore ? NULL : find_config_arg(argc, argv);
	if (config_path && (rc = apply_config(jc, config_path, &o)))
		return rc;
	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (o.kernel && (rc = check_input_file("kernel", o.kernel)))
		return rc;
	if (o.initrd && (rc = check_input_file("initrd", o.initrd)))
		return rc;
	for (unsigned int i = 0; i < o.nr_disks; i++) {
		if ((rc = check_input_file("disk", o.disks[i].path)))
			return rc;
	}

	if (strcmp(o.serial, "none") == 0) {
		out_fd = in_fd = -1;
	} else if (strncmp(o.serial, "file:", 5) == 0) {
		out_fd = open(o.serial + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out_fd < 0) {
			cli_error("--serial '%s': %s", o.serial, strerror(errno));
			return CLI_EXIT_NOINPUT;
		}
		in_fd = -1;
	} else if (fcntl(STDIN_FILENO, F_GETFD) < 0) {
		in_fd = -1;	/* stdin closed */
	}

	cl.level = o.log_level;
	cl.errors = 0;
	cfg.mem_bytes = o.mem;
	cfg.cpus = (uint32_t)o.cpus;
	cfg.kernel_path = o.kernel;
	if (!o.kernel) {
		cfg.kernel_data = mvmm_guest_elf_start;
		cfg.kernel_size = (size_t)(mvmm_guest_elf_end - mvmm_guest_elf_start);
	}
	cfg.initrd_path = o.initrd;
	cfg.cmdline = o.cmdline ? o.cmdline : DEFAULT_CMDLINE;
	cfg.serial_out_fd = out_fd;
	cfg.serial_in_fd = in_fd;
	cfg.log_fn = cli_log_sink;
	cfg.log_opaque = &cl;
	cfg.log_level = o.log_level;
	cfg.disks = o.disks;
	cfg.nr_disks = o.nr_disks;
	cfg.rng = o.rng;

	sfd = cli_stop_signals_fd();
	if (sfd < 0) {
		cli_error("signalfd: %s", strerror(errno));
		rc = CLI_EXIT_SOFTWARE;
		goto out_serial;
	}

	if (o.restore_dir) {
		cfg.mem_bytes = 0;	/* from the snapshot */
		cfg.cpus = 0;
		err = mvmm_vm_restore(o.restore_dir, &cfg, &vm);
	} else {
		err = mvmm_vm_create(&cfg, &vm);
	}
	if (err) {
		if (!cl.errors)
			cli_error("cannot create the VM: %s", mvmm_strerror(err));
		rc = cli_exit_code_for(err);
		goto out_sfd;
	}
	err = cli_enable_fork(vm);
	if (err)
		pr_cli_warn_fork(err);
	if (o.name && (rc = name_sock(o.name, sock_buf, sizeof(sock_buf))))
		goto out_vm;
	if (o.name)
		o.api_sock = sock_buf;
	if (o.api_sock) {
		err = mvmm_vm_api_listen(vm, o.api_sock);
		if (err) {
			cli_error("--api-sock '%s': %s", o.api_sock,
				  err == -EADDRINUSE ? "another VM is serving there"
						     : mvmm_strerror(err));
			rc = err == -EADDRINUSE ? CLI_EXIT_USAGE : CLI_EXIT_NOINPUT;
			goto out_vm;
		}
	}
	if (in_fd == STDIN_FILENO)
		raw = tty_raw(&saved);
	err = mvmm_vm_start(vm);
	if (err) {
		cli_error("cannot start the VM: %s", mvmm_strerror(err));
		rc = CLI_EXIT_SOFTWARE;
		goto out_vm;
	}
	rc = cli_supervise(vm, sfd);
out_vm:
	mvmm_vm_destroy(vm);
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
out_sfd:
	close(sfd);
out_serial:
	if (out_fd > STDERR_FILENO)
		close(out_fd);
	return rc;
}

int cmd_run(int argc, char **argv)
{
	struct json_config jc = { 0 };	/* --config strings live until the VM is gone */
	int rc = run_with(&jc, argc, argv, false);

	json_config_free(&jc);
	return rc;
}

/* `mvmm restore DIR [--serial ..] [--api-sock P | --name N] [--log-level L]` */
int cmd_restore(int argc, char **argv)
{
	struct json_config jc = { 0 };
	int rc = run_with(&jc, argc, argv, true);

	json_config_free(&jc);
	return rc;
}
