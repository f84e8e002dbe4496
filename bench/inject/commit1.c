/* commit1: the floor of a one-process-per-message injector, for the injection benchmark. Not a test.
 * Usage: commit1 DIR   (the message on stdin; DIR/tmp and DIR/new must exist)
 * It commits the message with exactly the raw loop's protocol in injbench.cpp: create in tmp/ with
 * O_EXCL, write, fsync, close, link into new/, open and fsync new/, close, unlink the tmp name. It
 * parses nothing, reads no configuration and drops no privileges, so a run of it costs the start-up of
 * the C library it is linked with plus the durable commit, and nothing else. run.sh builds it against
 * glibc and against musl to show what the C library's start-up alone costs on this machine.
 * Silent on success: output per message would be work the raw loop does not do (and injbench's
 * spawn mode sends the child's stdout to /dev/null anyway, so that it cannot corrupt the line run.sh
 * parses). Any failure: one line on stderr and exit status 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A benchmark message is 1 KB; the limit only stops a runaway input from filling the disk. */
enum { limit = 4 << 20 };
/* Static rather than malloc'd: untouched zero pages cost nothing, and the benchmark wants the
 * cheapest possible program, not a general one. One byte more than the limit to detect an overflow. */
static char buf[limit + 1];

static int fail(const char* what, const char* path) {
  fprintf(stderr, "commit1: %s %s: %s\n", what, path, strerror(errno));
  return 1;
}

/* Reads stdin to its end into buf; returns the length, or -1 with errno set (EFBIG past the limit). */
static long read_all(void) {
  long len = 0;
  for (;;) {
    ssize_t r = read(0, buf + len, sizeof buf - (size_t)len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) return len;
    len += r;
    if (len > limit) {
      errno = EFBIG;
      return -1;
    }
  }
}

/* write() may write less than asked (it does not on a local file system, but it is allowed to). */
static int write_all(int fd, const char* p, long len) {
  while (len > 0) {
    ssize_t w = write(fd, p, (size_t)len);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    p += w;
    len -= w;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fputs("usage: commit1 DIR < message\n", stderr);
    return 64;
  }
  long len = read_all();
  if (len < 0) return fail("reading", "stdin");

  /* One message per process, so the pid is unique among the running injectors and the time tells
   * apart the processes that had the same pid one after the other. A clash (the clock set back) is
   * not overwritten: O_EXCL and link() refuse it, and that is reported as a failure. */
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  char name[64], tmp[PATH_MAX], dst[PATH_MAX], nw[PATH_MAX];
  snprintf(name, sizeof name, "%lld.%09ld.%ld", (long long)now.tv_sec, now.tv_nsec, (long)getpid());
  if (snprintf(tmp, sizeof tmp, "%s/tmp/%s", argv[1], name) >= (int)sizeof tmp ||
      snprintf(dst, sizeof dst, "%s/new/%s", argv[1], name) >= (int)sizeof dst ||
      snprintf(nw, sizeof nw, "%s/new", argv[1]) >= (int)sizeof nw) {
    errno = ENAMETOOLONG;
    return fail("naming a file in", argv[1]);
  }

  int fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY, 0640);
  if (fd < 0) return fail("creating", tmp);
  if (write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
    int e = errno;
    close(fd);
    unlink(tmp);  /* leave nothing half-written behind */
    errno = e;
    return fail("writing", tmp);
  }
  if (close(fd) != 0) {
    int e = errno;
    unlink(tmp);
    errno = e;
    return fail("closing", tmp);
  }
  if (link(tmp, dst) != 0) {
    int e = errno;
    unlink(tmp);
    errno = e;
    return fail("linking into new/", tmp);
  }
  /* The link is durable only once the directory is: until then a crash may lose the message, so an
   * injector must not report success before this fsync has succeeded. */
  int dfd = open(nw, O_RDONLY | O_DIRECTORY);
  if (dfd < 0) return fail("opening", nw);
  if (fsync(dfd) != 0) return fail("fsyncing", nw);
  if (close(dfd) != 0) return fail("closing", nw);
  /* The message is committed; a tmp name left behind would be only clutter, but say so all the same. */
  if (unlink(tmp) != 0) return fail("removing", tmp);
  return 0;
}
