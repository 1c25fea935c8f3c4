/*
 * bbr/plugin.h - the stable C ABI between bbr-host and its plugins (ABI 1).
 *
 * This header is the ONLY contract a plugin needs. It is C99, compiles as C and
 * as C++, and needs no host symbol at link time: everything the host offers
 * reaches the plugin through a function table (bbr_host_api) passed at create().
 *
 * Naming, after Envoy's dynamic-modules ABI:
 *   bbr_*_t / struct bbr_*   types crossing the boundary
 *   bbr_plugin_entry_v1      the one symbol a plugin library exports
 *   bbr_host_api.*           callbacks the host provides
 *   bbr_plugin_type.*        hooks a plugin provides
 *
 * OWNERSHIP, in one rule: whoever allocated a thing frees it, on its own side.
 *   - Views the host hands out (bbr_buffer_t) are borrowed; they stay valid until
 *     the plugin callback they were obtained in returns, or until the plugin
 *     calls a mutating function on the same message, whichever is first.
 *   - Strings the plugin hands to the host are copied before the call returns.
 *   - Descriptors (bbr_plugin_library_t, bbr_plugin_type_t and the strings they
 *     point at) are owned by the plugin and must stay valid while the library is
 *     loaded (static storage is the norm).
 *   - Instances are created by create() and released by destroy(), both the
 *     plugin's; the host never frees plugin memory, the plugin never frees host
 *     memory.
 *
 * Growth: every struct crossing the boundary starts with `struct_size`. A new
 * field is only ever appended; a reader checks struct_size before touching a
 * field newer than what it was built against (BBR_HAS_FIELD). A change that
 * cannot be expressed by appending bumps BBR_ABI_MAJOR and renames the entry
 * symbol, so an old host and a new plugin refuse each other by name.
 *
 * Threads: process_request / process_response of one instance may be called
 * from several threads at once when the type declares BBR_CAP_THREAD_SAFE;
 * otherwise the host serialises calls into that instance. A bbr_message_t is
 * only ever touched by one thread at a time.
 */
#ifndef BBR_PLUGIN_H
#define BBR_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BBR_ABI_MAJOR 1
#define BBR_ABI_MINOR 0

/* The entry symbol's name carries the ABI major version. */
#define BBR_PLUGIN_ENTRY_SYMBOL "bbr_plugin_entry_v1"

#if defined(_WIN32)
#define BBR_PLUGIN_EXPORT __declspec(dllexport)
#else
#define BBR_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* True when a struct read across the boundary is large enough to hold `field`. */
#define BBR_HAS_FIELD(ptr, type, field) \
  ((ptr) != NULL && (ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* ------------------------------------------------------------------------ */
/* Plain values                                                              */
/* ------------------------------------------------------------------------ */

/* A borrowed byte view. Not NUL-terminated unless said so. */
typedef struct bbr_buffer {
  const char *data;
  size_t length;
} bbr_buffer_t;

/* Status of a host callback. */
typedef enum bbr_status {
  BBR_OK = 0,
  BBR_NOT_FOUND = 1,        /* header, JSON Pointer target or state key absent */
  BBR_WRONG_TYPE = 2,       /* the JSON value exists but is not of the asked type */
  BBR_INVALID_ARGUMENT = 3, /* malformed pointer, bad header name/value, bad JSON text */
  BBR_NOT_JSON = 4,         /* the body is not a JSON document */
  BBR_UNSUPPORTED = 5,      /* not allowed in this phase (e.g. body edit on a streamed response) */
  BBR_INTERNAL = 6          /* the host failed (out of memory, ...) */
} bbr_status_t;

/*
 * What process_request / process_response return. BBR_CONTINUE lets the chain
 * go on. Any other value stops the chain and fails the request: the value is
 * the HTTP status Envoy answers with (the reference's error-code mapping), and
 * the text set with bbr_host_api.set_error is logged with the plugin's name.
 * Values outside the list below are answered with 500.
 * (An intentional answer, e.g. a guardrail refusal, uses reject() instead.)
 */
typedef enum bbr_result {
  BBR_CONTINUE = 0,
  BBR_FAIL_BAD_REQUEST = 400,
  BBR_FAIL_UNAUTHORIZED = 401,
  BBR_FAIL_FORBIDDEN = 403,
  BBR_FAIL_NOT_FOUND = 404,
  BBR_FAIL_TOO_MANY_REQUESTS = 429,
  BBR_FAIL_INTERNAL = 500,
  BBR_FAIL_UNAVAILABLE = 503
} bbr_result_t;

/* Capabilities a plugin type declares (bit set). */
enum {
  BBR_CAP_REQUEST = 1u << 0,     /* implements process_request */
  BBR_CAP_RESPONSE = 1u << 1,    /* implements process_response */
  BBR_CAP_THREAD_SAFE = 1u << 2  /* one instance may be called concurrently */
};

typedef enum bbr_log_level {
  BBR_LOG_ERROR = 0,
  BBR_LOG_WARN = 1,
  BBR_LOG_INFO = 2,
  BBR_LOG_DEBUG = 3,
  BBR_LOG_TRACE = 4
} bbr_log_level_t;

typedef enum bbr_phase {
  BBR_PHASE_REQUEST = 0,
  BBR_PHASE_RESPONSE = 1
} bbr_phase_t;

typedef enum bbr_json_type {
  BBR_JSON_NULL = 0,
  BBR_JSON_BOOL = 1,
  BBR_JSON_INTEGER = 2, /* a number without fraction or exponent that fits int64 */
  BBR_JSON_NUMBER = 3,  /* any other number */
  BBR_JSON_STRING = 4,
  BBR_JSON_ARRAY = 5,
  BBR_JSON_OBJECT = 6
} bbr_json_type_t;

/* A typed JSON value read out of the host's single parse of the body. */
typedef struct bbr_json_value {
  uint32_t struct_size;
  bbr_json_type_t type;
  int boolean;           /* BBR_JSON_BOOL */
  int64_t integer;       /* BBR_JSON_INTEGER */
  double number;         /* BBR_JSON_INTEGER and BBR_JSON_NUMBER */
  bbr_buffer_t string;   /* BBR_JSON_STRING: unescaped UTF-8, borrowed */
  size_t size;           /* BBR_JSON_ARRAY / BBR_JSON_OBJECT: element count */
} bbr_json_value_t;

/* ------------------------------------------------------------------------ */
/* Opaque handles                                                            */
/* ------------------------------------------------------------------------ */

/* One HTTP request or response being processed. OWNERSHIP: host. Valid only
 * during the process_* call it is passed to. */
typedef struct bbr_message bbr_message_t;

/* The host's handle for one plugin instance: names it in logs and metrics.
 * OWNERSHIP: host. Valid from create() until destroy() returns. */
typedef struct bbr_plugin_context bbr_plugin_context_t;

/* ------------------------------------------------------------------------ */
/* What the host offers                                                      */
/* ------------------------------------------------------------------------ */

typedef struct bbr_host_api {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;

  /* --- message metadata --- */
  bbr_phase_t (*phase)(const bbr_message_t *msg);

  /* --- headers (keys are case-insensitive; the host stores them lower-cased) ---
   * get_header sees the current state: what earlier plugins set is visible. */
  bbr_status_t (*get_header)(bbr_message_t *msg, const char *name, size_t name_length,
                             bbr_buffer_t *value_out);
  size_t (*header_count)(bbr_message_t *msg);
  bbr_status_t (*header_at)(bbr_message_t *msg, size_t index, bbr_buffer_t *name_out,
                            bbr_buffer_t *value_out);
  /* Replaces any value the client sent (overwrite semantics). Refused with
   * BBR_INVALID_ARGUMENT: a name that is not an HTTP token; a header Envoy does
   * not let ext_proc change (x-envoy-*, host, :method, :authority, :scheme; for
   * removal also any ':' header); a value holding CR, LF or NUL, which also
   * makes the host answer the request with 400 (never forwarded).
   * remove_header answers BBR_NOT_FOUND when the header is not there. */
  bbr_status_t (*set_header)(bbr_message_t *msg, const char *name, size_t name_length,
                             const char *value, size_t value_length);
  bbr_status_t (*remove_header)(bbr_message_t *msg, const char *name, size_t name_length);

  /* --- body --- */
  /* The raw body bytes as they stand now (after replace_body, or re-serialised
   * after JSON edits). */
  bbr_status_t (*get_body)(bbr_message_t *msg, bbr_buffer_t *body_out);

  /* Typed lookup by JSON Pointer (RFC 6901, "" is the whole document,
   * "/messages/0/role" an element). BBR_NOT_JSON when the body does not parse. */
  bbr_status_t (*json_get)(bbr_message_t *msg, const char *pointer, size_t pointer_length,
                           bbr_json_value_t *value_out);
  /* The value at `pointer` as compact JSON text (a string comes back quoted). */
  bbr_status_t (*json_get_text)(bbr_message_t *msg, const char *pointer,
                                size_t pointer_length, bbr_buffer_t *text_out);
  /* Name of the index-th member of the object at `pointer`, in document order. */
  bbr_status_t (*json_member_name)(bbr_message_t *msg, const char *pointer,
                                   size_t pointer_length, size_t index,
                                   bbr_buffer_t *name_out);

  /* --- body edits: visible to later plugins at once, serialised once after
   * the whole chain ran. --- */
  /* Sets the value at `pointer` to the JSON text `json_value` (e.g. "\"x\"",
   * "42", "{}"). The parent must exist; an object member is created if absent,
   * "/-" appends to an array. */
  bbr_status_t (*json_set)(bbr_message_t *msg, const char *pointer, size_t pointer_length,
                           const char *json_value, size_t json_value_length);
  bbr_status_t (*json_remove)(bbr_message_t *msg, const char *pointer,
                              size_t pointer_length);
  /* Replaces the whole body with these bytes (need not be JSON). */
  bbr_status_t (*replace_body)(bbr_message_t *msg, const char *body, size_t body_length);

  /* --- outcomes --- */
  /* Answer the client now with this HTTP status and body; the chain stops after
   * the current plugin returns. */
  bbr_status_t (*reject)(bbr_message_t *msg, uint32_t http_status, const char *body,
                         size_t body_length);
  /* Text explaining a non-BBR_CONTINUE result; logged with the plugin's name. */
  void (*set_error)(bbr_message_t *msg, const char *text, size_t text_length);

  /* --- per-request state shared by the plugins of one stream (request and
   * response phases): the reference's CycleState. `destroy` (may be NULL) is
   * called by the host on the value when it is replaced or the stream ends. */
  bbr_status_t (*state_put)(bbr_message_t *msg, const char *key, size_t key_length,
                            void *value, void (*destroy)(void *value));
  bbr_status_t (*state_get)(bbr_message_t *msg, const char *key, size_t key_length,
                            void **value_out);

  /* --- observability --- */
  int (*log_enabled)(const bbr_plugin_context_t *ctx, bbr_log_level_t level);
  void (*log)(const bbr_plugin_context_t *ctx, bbr_log_level_t level, const char *text,
              size_t text_length);
  /* Adds `delta` to the counter `name` (Prometheus naming, e.g.
   * "bbr_field_not_found_total"), with at most one label (label_name may be
   * empty). The host adds the label plugin_name itself. */
  void (*counter_add)(const bbr_plugin_context_t *ctx, const char *name, size_t name_length,
                      const char *label_name, size_t label_name_length,
                      const char *label_value, size_t label_value_length, uint64_t delta);

  /* --- parameters --- */
  /* Typed lookup by JSON Pointer into the instance's parameters, parsed once by
   * the host (so a C plugin needs no JSON parser): "/headerName". BBR_NOT_FOUND
   * when absent or when no parameters were given. Views stay valid until
   * destroy() returns. Usable from create() on. */
  bbr_status_t (*parameter_get)(const bbr_plugin_context_t *ctx, const char *pointer,
                                size_t pointer_length, bbr_json_value_t *value_out);
} bbr_host_api_t;

/* ------------------------------------------------------------------------ */
/* What a plugin offers                                                      */
/* ------------------------------------------------------------------------ */

typedef struct bbr_create_args {
  uint32_t struct_size;
  const bbr_host_api_t *api;     /* valid for the host's lifetime: keep it */
  bbr_plugin_context_t *context; /* valid until destroy() returns: keep it */
  bbr_buffer_t instance_name;    /* the name given in config */
  /* The instance's parameters as JSON text: an object, or length 0 when none
   * were given. */
  bbr_buffer_t parameters_json;
  /* On failure, create writes a NUL-terminated explanation here (truncate as
   * needed). The host owns the buffer. */
  char *error;
  size_t error_capacity;
} bbr_create_args_t;

typedef struct bbr_plugin_type {
  uint32_t struct_size;
  const char *name;        /* type name used in config: "body-field-to-header" */
  const char *version;     /* the plugin's own version, e.g. "1.2.0" */
  const char *description; /* one line */
  uint32_t capabilities;   /* BBR_CAP_* */
  const char *parameters_schema; /* JSON Schema of the parameters, or NULL */

  /* Returns 0 and sets *instance_out, or non-zero with args->error filled. */
  int (*create)(const bbr_create_args_t *args, void **instance_out);
  void (*destroy)(void *instance);
  /* NULL when the matching capability is not declared. */
  bbr_result_t (*process_request)(void *instance, bbr_message_t *msg);
  bbr_result_t (*process_response)(void *instance, bbr_message_t *msg);
} bbr_plugin_type_t;

typedef struct bbr_plugin_library {
  uint32_t struct_size;
  uint32_t abi_major; /* must be BBR_ABI_MAJOR */
  uint32_t abi_minor; /* BBR_ABI_MINOR the plugin was built with */
  uint32_t type_count;
  const bbr_plugin_type_t *const *types; /* type_count pointers */
} bbr_plugin_library_t;

/* What the host tells the plugin about itself when it loads it. */
typedef struct bbr_host_info {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  const char *host_version;
} bbr_host_info_t;

/* The one symbol a plugin library exports. Returns its descriptor, or NULL to
 * refuse loading (e.g. an incompatible host). Called once per dlopen. */
typedef const bbr_plugin_library_t *(*bbr_plugin_entry_fn)(const bbr_host_info_t *host);

#ifdef __cplusplus
}
#endif

#endif /* BBR_PLUGIN_H */
