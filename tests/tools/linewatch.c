/* SPDX-License-Identifier: MIT */
/*
 * linewatch.c - timestamps the dry-run GPIO backend's line changes, for
 * bench/react.sh. The backend renames a new file over DIR/LINE at every
 * write (src/gpio/gpio_dryrun.c); this program waits on inotify for those
 * renames and prints, for each, the CLOCK_MONOTONIC time at its wake-up
 * (taken before anything else, so the figure includes no work of ours
 * but our own wake-up), the line and the level written:
 *
 *   linewatch DIR        prints "READY", then "NS LINE LEVEL" per change
 *
 * until SIGTERM. Exit status 1 on an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The level in DIR/NAME: its first character, '?' if unreadable. */
static char level(const char *dir, const char *name)
{
	char path[4096], c = '?';
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = '?';
		close(fd);
	}
	return c;
}

int main(int argc, char **argv)
{
	char buf[8192]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: linewatch DIR\n");
		return 2;
	}
	fd = inotify_init1(IN_CLOEXEC);
	if (fd < 0 || inotify_add_watch(fd, argv[1], IN_MOVED_TO) < 0) {
		fprintf(stderr, "linewatch: %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("READY\n");
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		long long t = mono_ns();

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "linewatch: read: %s\n",
				n < 0 ? strerror(errno) : "end of file");
			return 1;
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const void *)p;

			if (e->len && e->name[0] != '.')
				printf("%lld %s %c\n", t, e->name,
				       level(argv[1], e->name));
			p += sizeof(*e) + e->len;
		}
	}
}
