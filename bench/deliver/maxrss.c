/* maxrss: run a command and write its peak RSS (KB, from wait4) to a file. Not a test.
 * Usage: maxrss OUTFILE CMD [ARGS...]   (stdin, stdout, stderr and other fds are passed through)
 * Built static so that its own pages, which the child's high-water mark inherits through fork, are
 * few: the figure is the command's own. TERM and INT are passed on. Exits with the command's status. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child;

static void pass_on(int sig) { kill(child, sig); }

int main(int argc, char** argv) {
  if (argc < 3) {
    fputs("usage: maxrss OUTFILE CMD [ARGS...]\n", stderr);
    return 64;
  }
  pid_t pid = child = fork();
  if (pid < 0) return 71;
  if (pid == 0) {
    execv(argv[2], argv + 2);
    _exit(127);
  }
  signal(SIGTERM, pass_on);
  signal(SIGINT, pass_on);
  int status = 0;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0)
    if (errno != EINTR) return 71;
  FILE* f = fopen(argv[1], "w");
  if (!f) return 73;
  fprintf(f, "%ld\n", ru.ru_maxrss);
  fclose(f);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
