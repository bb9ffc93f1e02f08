/*
 * getOriginalDst(fd) -> { address, port, family }
 *
 * When iptables REDIRECT/DNAT sends a connection to the sensor, the socket's
 * local address is the rewritten one; the address the peer actually dialled
 * only survives in the conntrack entry, which Linux exposes through getsockopt
 * and Node does not. Errors carry the errno name in `code` so the caller can
 * tell "not redirected" apart from real failures.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netfilter_ipv4.h>            /* SO_ORIGINAL_DST */
#include <linux/netfilter_ipv6/ip6_tables.h> /* IP6T_SO_ORIGINAL_DST */
#include <node_api.h>

/* A failed N-API call may already have left an exception pending (a bad
 * argument, say); adding a second one would abort the process. */
static void throw_napi_failure(napi_env env) {
  bool pending = false;
  const napi_extended_error_info *info = NULL;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  napi_get_last_error_info(env, &info);
  napi_throw_error(env, "ERR_ORIGDST_NAPI",
                   info != NULL && info->error_message != NULL ? info->error_message : "N-API call failed");
}

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) {                                                                       \
      throw_napi_failure(env);                                                                     \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

/* Only the codes a caller may want to tell apart get a name: strerrorname_np
 * is glibc-only and musl builds should work too. */
static const char *errno_name(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EBADF: return "EBADF";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOTCONN: return "ENOTCONN";
    case EINVAL: return "EINVAL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    default: return "EUNKNOWN";
  }
}

/*
 * Most accepted connections were not redirected, so "no original destination" is the common
 * answer, not an exception: it comes back as the errno name, a string, because building and
 * throwing an Error with its stack trace on every connection costs more than the lookup.
 */
static napi_value errno_result(napi_env env, int err) {
  napi_value name;
  if (napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &name) != napi_ok) {
    throw_napi_failure(env);
    return NULL;
  }
  return name;
}

static napi_value get_original_dst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "getOriginalDst expects a file descriptor");
    return NULL;
  }

  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  /* IPv4 first: it also answers for IPv4 clients accepted on a dual-stack
   * IPv6 socket, which conntrack tracks as IPv4. */
  if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &ss, &len) != 0) {
    int v4_err = errno;
    len = sizeof ss;
    if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &ss, &len) != 0) {
      /* An IPv4 socket rejects the IPv6 level outright (EOPNOTSUPP); the
       * IPv4 answer is the meaningful one there. */
      return errno_result(env, errno == EOPNOTSUPP ? v4_err : errno);
    }
  }

  char text[INET6_ADDRSTRLEN];
  const void *addr;
  uint16_t port;
  uint32_t family;
  if (ss.ss_family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
    addr = &sin->sin_addr;
    port = ntohs(sin->sin_port);
    family = 4;
  } else if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
    addr = &sin6->sin6_addr;
    port = ntohs(sin6->sin6_port);
    family = 6;
  } else {
    return errno_result(env, EAFNOSUPPORT);
  }
  if (inet_ntop(ss.ss_family, addr, text, sizeof text) == NULL) return errno_result(env, errno);

  napi_value result, address, port_value, family_value;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &address));
  CHECK(napi_create_uint32(env, port, &port_value));
  CHECK(napi_create_uint32(env, family, &family_value));
  CHECK(napi_set_named_property(env, result, "address", address));
  CHECK(napi_set_named_property(env, result, "port", port_value));
  CHECK(napi_set_named_property(env, result, "family", family_value));
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  CHECK(napi_create_function(env, "getOriginalDst", NAPI_AUTO_LENGTH, get_original_dst, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "getOriginalDst", fn));
  return exports;
}
