/* bench_auth.c - what `auth` costs a connection: connections per second
 * that connect, read the VERSION banner, ask one request and close, against
 * the same with an `auth` (SHA-256 of the token and a constant-time compare
 * with every entry of the tokens file) before the request. Sequential
 * connections on loopback, one client process, the daemon started by the
 * bench with a tokens file of AUTH_BENCH_TOKENS entries (the match last).
 * Prints numbers; no target: this is a figure for the README.
 */
#include "child.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define AUTH_BENCH_CONNECTIONS 2000
#define AUTH_BENCH_TOKENS 100
#define AUTH_BENCH_PATH_MAX 256
#define AUTH_BENCH_LINE_MAX 4096

static const char TOKEN[] = "bench-token-0123456789abcdef0123456789abcdef";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Read up to and including one LF; false on EOF or error. */
static bool read_line(int fd, char *buf, size_t n)
{
    size_t len = 0;
    while (len + 1 < n) {
        ssize_t r = read(fd, buf + len, 1);
        if (r <= 0)
            return false;
        if (buf[len++] == '\n')
            break;
    }
    buf[len] = '\0';
    return true;
}

/* One connection: banner, [auth], version, close. */
static bool one(uint16_t port, bool with_auth)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    int one_ = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof one_);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char line[AUTH_BENCH_LINE_MAX];
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && read_line(fd, line, sizeof line);
    if (ok && with_auth) {
        char req[256];
        int n = snprintf(req, sizeof req, "{\"cmd\":\"auth\",\"token\":\"%s\"}\n", TOKEN);
        ok = write(fd, req, (size_t)n) == n && read_line(fd, line, sizeof line)
             && strstr(line, "\"AUTH\"") != NULL;
    }
    static const char version[] = "{\"cmd\":\"version\"}\n";
    ok = ok && write(fd, version, sizeof version - 1) == (ssize_t)(sizeof version - 1)
         && read_line(fd, line, sizeof line);
    close(fd);
    return ok;
}

static double rate(uint16_t port, bool with_auth)
{
    double t0 = now_s();
    for (int i = 0; i < AUTH_BENCH_CONNECTIONS; i++)
        if (!one(port, with_auth)) {
            fprintf(stderr, "bench_auth: connection %d failed: %s\n", i, strerror(errno));
            return -1;
        }
    return AUTH_BENCH_CONNECTIONS / (now_s() - t0);
}

static int write_files(const char *dir, char *cfg, char *tokens)
{
    snprintf(tokens, AUTH_BENCH_PATH_MAX, "%s/tokens", dir);
    snprintf(cfg, AUTH_BENCH_PATH_MAX, "%s/bridge.json", dir);
    FILE *t = fopen(tokens, "w");
    if (!t)
        return -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(TOKEN, strlen(TOKEN), md, &n, EVP_sha256(), NULL);
    for (int i = 0; i < AUTH_BENCH_TOKENS - 1; i++)
        fprintf(t, "other%d %064x\n", i, i);
    fprintf(t, "bench ");
    for (unsigned i = 0; i < n; i++)
        fprintf(t, "%02x", md[i]);
    fprintf(t, "\n");
    fclose(t);
    chmod(tokens, 0600);
    FILE *c = fopen(cfg, "w");
    if (!c)
        return -1;
    fprintf(c, "{\"robot_listen\":\"127.0.0.1:0\",\"json_listen\":\"127.0.0.1:0\","
               "\"tokens_file\":\"%s\",\"access\":[{\"who\":[\"*\",\"anonymous\"],"
               "\"may\":[\"watch\"]}]}\n", tokens);
    fclose(c);
    return 0;
}

int main(void)
{
    const char *bin = getenv("RB_BIN");
    if (!bin || !*bin) {
        fprintf(stderr, "bench_auth: set RB_BIN to the rapidbridge binary (make bench does)\n");
        return 1;
    }
    char dir[] = "/tmp/rb-bench-auth-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("bench_auth: mkdtemp");
        return 1;
    }
    char cfg[AUTH_BENCH_PATH_MAX], tokens[AUTH_BENCH_PATH_MAX], log[AUTH_BENCH_PATH_MAX];
    snprintf(log, sizeof log, "%s/bridge.log", dir);
    if (write_files(dir, cfg, tokens) < 0) {
        perror("bench_auth: writing the configuration");
        return 1;
    }
    struct daemon_child d;
    char err[CHILD_ERR_MAX];
    if (child_start_daemon(bin, cfg, log, &d, err) < 0) {
        fprintf(stderr, "bench_auth: %s\n", err);
        return 1;
    }
    rate(d.client_port, false);                 /* warm up */
    double plain = rate(d.client_port, false);
    double with_auth = rate(d.client_port, true);
    child_stop(d.pid);
    printf("\nauth per connection (%d sequential connections, %d tokens in the file)\n",
           AUTH_BENCH_CONNECTIONS, AUTH_BENCH_TOKENS);
    printf("  connect + banner + version + close      %8.0f connections/s\n", plain);
    printf("  the same with auth first                %8.0f connections/s  (%.1f us more each)\n",
           with_auth, plain > 0 && with_auth > 0 ? (1e6 / with_auth - 1e6 / plain) : 0.0);
    unlink(cfg);
    unlink(tokens);
    unlink(log);
    rmdir(dir);
    return plain > 0 && with_auth > 0 ? 0 : 1;
}
