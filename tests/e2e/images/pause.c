/*
 * The sandbox ("pause") process of the e2e test's pods: it holds the pod's namespaces open and
 * does nothing else. As the first process of the pod's PID namespace it reaps the children that
 * get orphaned into it; SIGINT or SIGTERM ends it (status 0), so the runtime can stop a sandbox
 * without waiting for SIGKILL.
 *
 * Built static (gcc -static -Os) into the image tests/e2e/build-images.sh assembles.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *s) {
	/* write(2) only: this runs in signal handlers too. */
	ssize_t ignored = write(STDERR_FILENO, s, strlen(s));
	(void)ignored;
}

static void on_stop(int sig) {
	say(sig == SIGINT ? "pause: SIGINT, exiting\n" : "pause: SIGTERM, exiting\n");
	_exit(0);
}

static void on_child(int sig) {
	int saved = errno;
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
	errno = saved;
}

static int handle(int sig, void (*handler)(int), int flags) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = flags;
	sigfillset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		say("pause (kube-bootstrap e2e)\n");
		return 0;
	}
	if (getpid() != 1) {
		say("pause: not PID 1, orphans of the pod will not be reaped here\n");
	}
	if (handle(SIGINT, on_stop, 0) != 0 || handle(SIGTERM, on_stop, 0) != 0 ||
	    handle(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART) != 0) {
		say("pause: sigaction failed\n");
		return 1;
	}
	for (;;) {
		pause();
	}
}
