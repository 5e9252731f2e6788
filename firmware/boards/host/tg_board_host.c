/* tinygen "host" board: tg_board.h on Linux/macOS, for testing the HIL protocol without a device.
 *
 * The serial port is a TCP connection: tg_board_init() listens on a free 127.0.0.1 port, prints
 * "TG_HOST_PORT=<port>" on stdout and accepts one client (race-free for the host: the port is known
 * before anyone connects). tg_board_reset() re-executes the program with the connection kept open
 * (TG_HOST_FD), so a reset clears all state like a real one. The process exits when the peer closes.
 * main() drives the app like every board does: tg_board_init, tg_app_setup, tg_app_loop forever.
 */
#define _POSIX_C_SOURCE 200809L
#include "tg_app.h"
#include "tg_board.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int conn = -1;
static uint8_t rx[4096];
static size_t rx_head, rx_tail;
static uint64_t cost_t0;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void tg_board_init(void) {
  const char *fd = getenv("TG_HOST_FD");
  if (fd) {
    conn = atoi(fd);
    return;
  }
  int srv = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  if (srv < 0 || bind(srv, (struct sockaddr *)&a, sizeof a) != 0 || listen(srv, 1) != 0 ||
      getsockname(srv, (struct sockaddr *)&a, &alen) != 0) {
    perror("tg_board_host: listen");
    exit(2);
  }
  printf("TG_HOST_PORT=%u\n", (unsigned)ntohs(a.sin_port));
  fflush(stdout);
  conn = accept(srv, NULL, NULL);
  close(srv);
  if (conn < 0) {
    perror("tg_board_host: accept");
    exit(2);
  }
  int one = 1;
  setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

const char *tg_board_name(void) { return "host"; }

void tg_serial_write(const uint8_t *data, size_t len) {
  while (len > 0) {
    ssize_t n = send(conn, data, len, MSG_NOSIGNAL);
    if (n <= 0) exit(0); /* peer gone */
    data += n;
    len -= (size_t)n;
  }
}

int tg_serial_read_byte(void) {
  if (rx_head == rx_tail) {
    /* Wait a little instead of spinning: the host shares its CPUs. */
    struct pollfd p = {conn, POLLIN, 0};
    if (poll(&p, 1, 10) <= 0) return -1;
    ssize_t n = recv(conn, rx, sizeof rx, 0);
    if (n <= 0) exit(0); /* peer closed the connection */
    rx_head = 0;
    rx_tail = (size_t)n;
  }
  return rx[rx_head++];
}

uint32_t tg_micros(void) { return (uint32_t)(now_ns() / 1000u); }
void tg_cost_start(void) { cost_t0 = now_ns(); }
uint64_t tg_cost_read(void) { return now_ns() - cost_t0; }
const char *tg_cost_unit(void) { return "ns"; }
uint32_t tg_stack_size(void) { return 0; }
uint32_t tg_stack_used(void) { return 0; }
void tg_led_set(int on) { (void)on; }

void tg_board_reset(void) {
  char fd[16];
  snprintf(fd, sizeof fd, "%d", conn);
  setenv("TG_HOST_FD", fd, 1);
  char *argv[] = {(char *)"tg_host", NULL};
  execv("/proc/self/exe", argv);
  perror("tg_board_host: reset");
  exit(3);
}

int main(void) {
  tg_board_init();
  tg_app_setup();
  for (;;) {
    tg_app_loop();
  }
}
