/* SPDX-License-Identifier: MIT */
/*
 * `mvmm pause|resume|stop|status|ls`: clients of a running VM's control API.  HTTP goes through
 * libcurl (CURLOPT_UNIX_SOCKET_PATH); JSON through json-c.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "cli.h"

#define RESPONSE_MAX (1 << 20)

struct buf {
	char *data;
	size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *opaque)
{
	struct buf *b = opaque;
	size_t add = size * n;
	char *d;

	if (b->len + add > RESPONSE_MAX)
		return 0;	/* abort: a VMM never sends this much */
	d = realloc(b->data, b->len + add + 1);
	if (!d)
		return 0;
	memcpy(d + b->len, p, add);
	b->data = d;
	b->len += add;
	b->data[b->len] = 0;
	return add;
}

const char *cli_runtime_dir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (xdg && *xdg)
		snprintf(buf, len, "%s/mvmm", xdg);
	else
		snprintf(buf, len, "/run/mvmm");
	return buf;
}

/* A VM argument is a socket path (contains '/') or a name under the runtime dir. */
const char *cli_sock_path(const char *vm, char *buf, size_t len)
{
	char dir[PATH_MAX];

	if (strchr(vm, '/'))
		return vm;
	cli_runtime_dir(dir, sizeof(dir));
	/* A name too long for the buffer gives a path that does not exist: a clear error later. */
	if ((size_t)snprintf(buf, len, "%.*s/%s.sock", (int)(len / 2), dir, vm) >= len)
		buf[len - 1] = 0;
	return buf;
}

/*
 * One request.  Returns the HTTP status (>= 100), or -1 when the socket cannot be reached
 * (*curl_err says why).  *body (malloc'd, may be NULL) receives the response body.
 */
long cli_api_request(const char *sock, const char *method, const char *path, const char *req,
		     char **body, CURLcode *curl_err)
{
	char url[256];
	struct buf b = { 0 };
	struct curl_slist *hdrs = NULL;
	long status = -1;
	CURL *c = curl_easy_init();
	CURLcode rc;

	*body = NULL;
	if (!c)
		return -1;
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (req) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req);
	}
	rc = curl_easy_perform(c);
	if (curl_err)
		*curl_err = rc;
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	if (status < 0) {
		free(b.data);
		return -1;
	}
	*body = b.data;
	return status;
}

/* The "error" member of a JSON error body, or the body itself. */
static const char *error_text(const char *body, json_object **hold)
{
	json_object *o = body ? json_tokener_parse(body) : NULL, *e;

	*hold = o;
	if (o && json_object_object_get_ex(o, "error", &e))
		return json_object_get_string(e);
	return body && *body ? body : "no details";
}

struct client_opts {
	bool json;
	const char *vm;
};

static int parse_client_args(const char *cmd, int argc, char **argv, struct client_opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'h':
			printf("usage: mvmm %s [--json] %s\n", cmd,
			       strcmp(cmd, "ls") ? "SOCKET|NAME" : "");
			return -1;
		default:
			cli_error("unknown option '%s' (try 'mvmm %s --help')", argv[optind - 1], cmd);
			return CLI_EXIT_USAGE;
		}
	}
	if (strcmp(cmd, "ls") == 0) {
		if (optind != argc) {
			cli_error("'mvmm ls' takes no arguments");
			return CLI_EXIT_USAGE;
		}
		return 0;
	}
	if (optind + 1 != argc) {
		cli_error("'mvmm %s' needs one VM: a socket path or a name", cmd);
		return CLI_EXIT_USAGE;
	}
	o->vm = argv[optind];
	return 0;
}

/* pause | resume | stop: PUT /vm/<action>. */
static int cmd_action(const char *action, int argc, char **argv)
{
	struct client_opts o = { 0 };
	char path[PATH_MAX], url[64], *body = NULL;
	const char *sock;
	json_object *hold = NULL;
	CURLcode cerr = CURLE_OK;
	long status;
	int rc = parse_client_args(action, argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;
	sock = cli_sock_path(o.vm, path, sizeof(path));
	snprintf(url, sizeof(url), "/vm/%s", action);
	status = cli_api_request(sock, "PUT", url, "{}", &body, &cerr);
	if (status < 0) {
		cli_error("cannot reach the VM at '%s': %s", sock, curl_easy_strerror(cerr));
		return CLI_EXIT_UNAVAILABLE;
	}
	if (status / 100 != 2) {
		cli_error("%s '%s': %s (HTTP %ld)", action, sock, error_text(body, &hold), status);
		json_object_put(hold);
		free(body);
		return status == 409 ? CLI_EXIT_STATE : CLI_EXIT_SOFTWARE;
	}
	if (o.json)
		printf("{\"result\":\"ok\",\"action\":\"%s\"}\n", action);
	free(body);
	return 0;
}

static int cmd_pause(int argc, char **argv)
{
	return cmd_action("pause", argc, argv);
}

static int cmd_resume(int argc, char **argv)
{
	return cmd_action("resume", argc, argv);
}

static int cmd_stop(int argc, char **argv)
{
	return cmd_action("stop", argc, argv);
}

static const char *jstr(json_object *o, const char *key, const char *dflt)
{
	json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return dflt;
}

static long long jint(json_object *o, const char *key)
{
	json_object *v;

	if (o && json_object_object_get_ex(o, key, &v))
		return (long long)json_object_get_int64(v);
	return -1;
}

static int cmd_status(int argc, char **argv)
{
	struct client_opts o = { 0 };
	char path[PATH_MAX], *body = NULL;
	const char *sock;
	json_object *vm, *cfg = NULL, *machine = NULL;
	CURLcode cerr = CURLE_OK;
	long status;
	int rc = parse_client_args("status", argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;
	sock = cli_sock_path(o.vm, path, sizeof(path));
	status = cli_api_request(sock, "GET", "/vm", NULL, &body, &cerr);
	if (status < 0) {
		cli_error("cannot reach the VM at '%s': %s", sock, curl_easy_strerror(cerr));
		return CLI_EXIT_UNAVAILABLE;
	}
	vm = body ? json_tokener_parse(body) : NULL;
	if (status != 200 || !vm) {
		cli_error("status '%s': unexpected answer (HTTP %ld)", sock, status);
		json_object_put(vm);
		free(body);
		return CLI_EXIT_SOFTWARE;
	}
	if (o.json) {
		printf("%s\n", json_object_to_json_string_ext(vm, JSON_C_TO_STRING_PLAIN));
	} else {
		json_object_object_get_ex(vm, "config", &cfg);
		if (cfg)
			json_object_object_get_ex(cfg, "machine", &machine);
		printf("state:   %s\npid:     %lld\nuptime:  %lld ms\ncpus:    %lld\nmem:     %s\n",
		       jstr(vm, "state", "?"), jint(vm, "pid"), jint(vm, "uptime_ms"),
		       jint(machine, "cpus"), jstr(machine, "mem", "?"));
	}
	json_object_put(vm);
	free(body);
	return 0;
}

/*
 * List VMs whose sockets are in the runtime dir.  A socket nobody answers on is stale (its VMM
 * died without cleaning up): remove it and say so.
 */
static int cmd_ls(int argc, char **argv)
{
	struct client_opts o = { 0 };
	char dir[PATH_MAX], sock[PATH_MAX * 2], *body;
	json_object *arr = json_object_new_array();
	struct dirent *de;
	DIR *d;
	int rc = parse_client_args("ls", argc, argv, &o);

	if (rc) {
		json_object_put(arr);
		return rc < 0 ? 0 : rc;
	}
	cli_runtime_dir(dir, sizeof(dir));
	d = opendir(dir);
	if (!o.json)
		printf("%-24s %-8s %-8s %s\n", "NAME", "STATE", "PID", "SOCKET");
	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		struct stat st;
		json_object *vm, *e;
		long status;
		char name[256];

		if (n < 6 || strcmp(de->d_name + n - 5, ".sock"))
			continue;
		snprintf(sock, sizeof(sock), "%s/%s", dir, de->d_name);
		if (lstat(sock, &st) < 0 || !S_ISSOCK(st.st_mode))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 5), de->d_name);
		status = cli_api_request(sock, "GET", "/vm", NULL, &body, NULL);
		vm = status == 200 && body ? json_tokener_parse(body) : NULL;
		free(body);
		if (!vm) {
			if (status < 0 && unlink(sock) == 0)
				fprintf(stderr, "mvmm: removed stale socket %s\n", sock);
			continue;
		}
		if (o.json) {
			e = json_object_new_object();
			json_object_object_add(e, "name", json_object_new_string(name));
			json_object_object_add(e, "socket", json_object_new_string(sock));
			json_object_object_add(e, "state",
					       json_object_new_string(jstr(vm, "state", "?")));
			json_object_object_add(e, "pid", json_object_new_int64(jint(vm, "pid")));
			json_object_array_add(arr, e);
		} else {
			printf("%-24s %-8s %-8lld %s\n", name, jstr(vm, "state", "?"), jint(vm, "pid"),
			       sock);
		}
		json_object_put(vm);
	}
	if (d)
		closedir(d);
	if (o.json)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	json_object_put(arr);
	return 0;
}

/* mvmm fork VM [-n N] [--name PREFIX] [--json] */
static int cmd_fork(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "name", required_argument, NULL, 'N' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char path[PATH_MAX], req[256], *body = NULL, *end;
	const char *sock, *prefix = NULL;
	json_object *resp, *kids, *hold = NULL;
	CURLcode cerr = CURLE_OK;
	bool json = false;
	long count = 1, status;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "hn:", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'N':
			prefix = optarg;
			break;
		case 'n':
			errno = 0;
			count = strtol(optarg, &end, 10);
			if (errno || *end || count < 1 || count > MVMM_MAX_FORK) {
				cli_error("-n '%s': need a number from 1 to %d", optarg,
					  MVMM_MAX_FORK);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'h':
			printf("usage: mvmm fork [-n N] [--name PREFIX] [--json] SOCKET|NAME\n");
			return 0;
		default:
			cli_error("unknown option '%s' (try 'mvmm fork --help')", argv[optind - 1]);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		cli_error("'mvmm fork' needs one VM: a socket path or a name");
		return CLI_EXIT_USAGE;
	}
	if (prefix) {
		json_object *p = json_object_new_string(prefix);

		snprintf(req, sizeof(req), "{\"count\":%ld,\"name\":%s}", count,
			 json_object_to_json_string(p));
		json_object_put(p);
	} else {
		snprintf(req, sizeof(req), "{\"count\":%ld}", count);
	}
	sock = cli_sock_path(argv[optind], path, sizeof(path));
	status = cli_api_request(sock, "PUT", "/vm/fork", req, &body, &cerr);
	if (status < 0) {
		cli_error("cannot reach the VM at '%s': %s", sock, curl_easy_strerror(cerr));
		return CLI_EXIT_UNAVAILABLE;
	}
	resp = body ? json_tokener_parse(body) : NULL;
	if (status != 200 || !resp || !json_object_object_get_ex(resp, "children", &kids)) {
		cli_error("fork '%s': %s (HTTP %ld)", sock, error_text(body, &hold), status);
		json_object_put(hold);
		json_object_put(resp);
		free(body);
		return status == 409 ? CLI_EXIT_STATE : status == 400 ? CLI_EXIT_USAGE
								       : CLI_EXIT_SOFTWARE;
	}
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN));
	} else {
		for (size_t i = 0; i < json_object_array_length(kids); i++) {
			json_object *k = json_object_array_get_idx(kids, i);

			printf("%s %lld %s\n", jstr(k, "name", "?"), jint(k, "pid"),
			       jstr(k, "api_sock", "?"));
		}
	}
	json_object_put(resp);
	free(body);
	return 0;
}

/* mvmm snapshot [--live] VM DIR */
static int cmd_snapshot(int argc, char **argv)
{
	char path[PATH_MAX], dir[PATH_MAX * 2], *body = NULL;
	const char *sock;
	json_object *req, *hold = NULL;
	CURLcode cerr = CURLE_OK;
	bool live = false;
	long status;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: mvmm snapshot [--live] SOCKET|NAME DIR   (DIR must not exist)\n"
		       "  --live  copy RAM while the VM keeps running (userfaultfd write-protect)\n");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--live")) {
		live = true;
		argc--;
		argv++;
	}
	if (argc != 3) {
		cli_error("'mvmm snapshot' needs a VM and a new directory");
		return CLI_EXIT_USAGE;
	}
	/* The VMM may run elsewhere in the tree: send an absolute path. */
	if (argv[2][0] == '/') {
		snprintf(dir, sizeof(dir), "%s", argv[2]);
	} else if (getcwd(path, sizeof(path))) {
		snprintf(dir, sizeof(dir), "%s/%s", path, argv[2]);
	} else {
		cli_error("snapshot: cannot resolve '%s'", argv[2]);
		return CLI_EXIT_USAGE;
	}
	sock = cli_sock_path(argv[1], path, sizeof(path));
	req = json_object_new_object();
	json_object_object_add(req, "dir", json_object_new_string(dir));
	if (live)
		json_object_object_add(req, "live", json_object_new_boolean(true));
	status = cli_api_request(sock, "PUT", "/vm/snapshot", json_object_to_json_string(req),
				 &body, &cerr);
	json_object_put(req);
	if (status < 0) {
		cli_error("cannot reach the VM at '%s': %s", sock, curl_easy_strerror(cerr));
		return CLI_EXIT_UNAVAILABLE;
	}
	if (status / 100 != 2) {
		cli_error("snapshot '%s': %s (HTTP %ld)", sock, error_text(body, &hold), status);
		json_object_put(hold);
		free(body);
		return status == 409 ? CLI_EXIT_STATE : CLI_EXIT_SOFTWARE;
	}
	free(body);
	return 0;
}

const struct cli_command cli_client_commands[] = {
	{ "fork", cmd_fork, "fork a running VM into N children (-n N, --name PREFIX)" },
	{ "snapshot", cmd_snapshot, "write a VM's snapshot into a new directory" },
	{ "pause", cmd_pause, "pause a running VM (SOCKET or NAME)" },
	{ "resume", cmd_resume, "resume a paused VM" },
	{ "stop", cmd_stop, "stop a VM; its `mvmm run` exits 0" },
	{ "status", cmd_status, "show a VM's state and config" },
	{ "ls", cmd_ls, "list VMs with sockets in the runtime dir" },
	{ NULL, NULL, NULL },
};
