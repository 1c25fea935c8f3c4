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
 * Threads: the process_* hooks of one instance (process_request,
 * process_response, and since 1.1 process_response_chunk and
 * process_response_event) may be called from several threads at once when
 * the type declares BBR_CAP_THREAD_SAFE; otherwise the host serialises all
 * calls into that instance, whatever the hook. The chunk and event calls of
 * one response come one after another, in stream order. A bbr_message_t is
 * only ever touched by one thread at a time. Each host function below says
 * under THREADS whether a thread the plugin started itself may call it:
 *   - calls taking a bbr_plugin_context_t (log_enabled, log, counter_add,
 *     parameter_get, and since 1.1 metric_define, metric_add, metric_observe,
 *     parameter_for_each) are safe from any thread, at any time from create()
 *     until destroy() returns;
 *   - calls taking a bbr_message_t are only for the thread the host called
 *     the process_* hook on, during that call.
 *
 * Versions: ABI 1.0 is the layout up to each struct's 1.0 members; ABI 1.1
 * appends (every member and type it adds says "since 1.1"). A plugin that
 * uses a 1.1 call checks BBR_HAS_FIELD(api, bbr_host_api_t, <call>), or
 * refuses a 1.0 host from its entry (host->abi_minor < 1: return NULL).
 *
 * Frozen: the 1.0 part never changes. Every type that crosses the boundary
 * has a fixed width (the former enums are int32_t typedefs; the enum names stay
 * as constants), and the sizes and offsets of every struct are asserted below
 * for LP64 targets and checked against a baseline in the host's tests.
 */
#ifndef BBR_PLUGIN_H
#define BBR_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BBR_ABI_MAJOR 1
#define BBR_ABI_MINOR 1

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

/*
 * Why the former enums are int32_t typedefs: the size and signedness of a C
 * enum are the compiler's choice, so an enum in a struct field or a return
 * type is not a stable ABI. On every platform bbr-host is built for (x86-64
 * and aarch64 Linux, GCC and Clang) these enums were 4 bytes, so the typedefs
 * change neither the layout nor the calling convention of ABI 1.0. The names
 * stay as constants of anonymous enums; a plugin's code using them compiles
 * unchanged.
 */

/* Status of a host callback. */
typedef int32_t bbr_status_t;
enum {
  BBR_OK = 0,
  BBR_NOT_FOUND = 1,        /* header, JSON Pointer target or state key absent */
  BBR_WRONG_TYPE = 2,       /* the JSON value exists but is not of the asked type */
  BBR_INVALID_ARGUMENT = 3, /* malformed pointer, bad header name/value, bad JSON text */
  BBR_NOT_JSON = 4,         /* the body is not a JSON document */
  BBR_UNSUPPORTED = 5,      /* the call cannot be honoured here (since 1.1: e.g.
                               reject_with on a started response; a body edit,
                               1.0 calls included, while json_for_each walks) */
  BBR_INTERNAL = 6          /* the host failed (out of memory, ...) */
};

/*
 * What process_request / process_response return. BBR_CONTINUE lets the chain
 * go on. Any other value is a failure: the value is the HTTP status the client
 * is answered with (the reference's error-code mapping), and the text set with
 * bbr_host_api.set_error is logged with the plugin's name. A failure stops the
 * chain, unless the instance is configured with failurePolicy FailOpen (then
 * it is logged and counted, and the chain goes on). Values outside the list
 * below are answered with 500.
 * (An intentional answer, e.g. a guardrail refusal, uses reject() instead.)
 */
typedef int32_t bbr_result_t;
enum {
  BBR_CONTINUE = 0,
  BBR_FAIL_BAD_REQUEST = 400,
  BBR_FAIL_UNAUTHORIZED = 401,
  BBR_FAIL_FORBIDDEN = 403,
  BBR_FAIL_NOT_FOUND = 404,
  BBR_FAIL_TOO_MANY_REQUESTS = 429,
  BBR_FAIL_INTERNAL = 500,
  BBR_FAIL_UNAVAILABLE = 503
};

/* Capabilities a plugin type declares (bit set). */
enum {
  BBR_CAP_REQUEST = 1u << 0,     /* implements process_request */
  BBR_CAP_RESPONSE = 1u << 1,    /* implements process_response */
  BBR_CAP_THREAD_SAFE = 1u << 2, /* one instance may be called concurrently */
  /* since 1.1: implements process_response_chunk (raw pieces of a streamed
   * response body, forwarded as soon as the chain is done with each) */
  BBR_CAP_RESPONSE_CHUNK = 1u << 3,
  /* since 1.1: implements process_response_event (one Server-Sent Event of a
   * text/event-stream response at a time) */
  BBR_CAP_RESPONSE_EVENT = 1u << 4
};

typedef int32_t bbr_log_level_t;
enum {
  BBR_LOG_ERROR = 0,
  BBR_LOG_WARN = 1,
  BBR_LOG_INFO = 2,
  BBR_LOG_DEBUG = 3,
  BBR_LOG_TRACE = 4
};

typedef int32_t bbr_phase_t;
enum {
  BBR_PHASE_REQUEST = 0,
  BBR_PHASE_RESPONSE = 1
};

typedef int32_t bbr_json_type_t;
enum {
  BBR_JSON_NULL = 0,
  BBR_JSON_BOOL = 1,
  BBR_JSON_INTEGER = 2, /* a number without fraction or exponent that fits int64 */
  BBR_JSON_NUMBER = 3,  /* any other number */
  BBR_JSON_STRING = 4,
  BBR_JSON_ARRAY = 5,
  BBR_JSON_OBJECT = 6
};

/* A typed JSON value read out of the host's single parse of the body (or of
 * the parameters). The caller sets struct_size = sizeof(bbr_json_value_t)
 * before the call (0 is answered BBR_INVALID_ARGUMENT); the host writes at most
 * that many bytes and sets struct_size to what it wrote. */
typedef struct bbr_json_value {
  uint32_t struct_size;
  bbr_json_type_t type;
  int boolean;           /* BBR_JSON_BOOL */
  int64_t integer;       /* BBR_JSON_INTEGER */
  double number;         /* BBR_JSON_INTEGER and BBR_JSON_NUMBER */
  bbr_buffer_t string;   /* BBR_JSON_STRING: unescaped UTF-8, borrowed */
  size_t size;           /* BBR_JSON_ARRAY / BBR_JSON_OBJECT: element count */
} bbr_json_value_t;


/* --- since 1.1 ----------------------------------------------------------- */

/* What a process_* call is given as its body (bbr_message_info_t.unit). */
typedef int32_t bbr_body_unit_t;
enum {
  BBR_BODY_WHOLE = 0,      /* the whole body (process_request, process_response) */
  BBR_BODY_CHUNK = 1,      /* one piece of a streamed body (process_response_chunk) */
  BBR_BODY_SSE_EVENT = 2,  /* one Server-Sent Event (process_response_event) */
  BBR_BODY_STREAM_END = 3  /* the stream ended: no body; a last chance to add
                              events or count (process_response_event and
                              process_response_chunk) */
};

/* since 1.1. Filled by bbr_host_api.message_info; the caller sets struct_size
 * as for bbr_json_value_t. Views are borrowed until the callback returns. */
typedef struct bbr_message_info {
  uint32_t struct_size;
  bbr_body_unit_t unit;
  uint64_t sequence;          /* CHUNK / SSE_EVENT: the unit's index in the
                                 stream, from 0. A unit is numbered once, as
                                 it enters the chain: every plugin sees the
                                 same number for it (a chunk hook in an SSE
                                 stream sees the event's number; an added
                                 event takes the next number when added).
                                 STREAM_END: the number of units. */
  int32_t end_of_stream;      /* 1 when no body follows this one */
  int32_t sse_done;           /* SSE_EVENT: 1 when the event's data is "[DONE]" */
  bbr_buffer_t request_path;  /* the request's :path, in both phases ("" if none) */
  bbr_buffer_t event_name;    /* SSE_EVENT: the `event:` field, "" when none */
  bbr_buffer_t event_id;      /* SSE_EVENT: the `id:` field, "" when none */
} bbr_message_info_t;

/* since 1.1. One element of an array or member of an object, handed to a
 * bbr_json_visit_fn. Views are borrowed until the plugin callback that called
 * json_for_each / parameter_for_each returns (parameters: until destroy()). */
typedef struct bbr_json_entry {
  uint32_t struct_size;
  size_t index;            /* position in the array or object, from 0 */
  bbr_buffer_t name;       /* object member name (unescaped), "" for an element */
  bbr_buffer_t pointer;    /* this child's JSON Pointer, escaped (~0, ~1), for
                              json_get / json_set and nested for_each */
  bbr_json_value_t value;  /* the child's typed value */
} bbr_json_entry_t;

/* Return 0 to go on, non-zero to stop the walk (for_each then returns BBR_OK). */
typedef int32_t (*bbr_json_visit_fn)(void *user, const bbr_json_entry_t *entry);

/* since 1.1. A name and value pair handed to the host (copied). */
typedef struct bbr_header_pair {
  bbr_buffer_t name;
  bbr_buffer_t value;
} bbr_header_pair_t;

/* since 1.1. An immediate answer to the client (bbr_host_api.reject_with). */
typedef struct bbr_reject {
  uint32_t struct_size;
  uint32_t http_status;             /* 200..599 */
  bbr_buffer_t body;
  const bbr_header_pair_t *headers; /* sent with the answer; may be NULL */
  size_t header_count;
  bbr_buffer_t details;             /* ImmediateResponse.details: Envoy logs it */
} bbr_reject_t;

/* since 1.1. Whether Envoy re-picks the route after this message's answer. */
typedef int32_t bbr_route_cache_t;
enum {
  BBR_ROUTE_CACHE_DEFAULT = 0, /* the host's rule: an answer that carries the
                                  chain's result clears it, whether or not a
                                  header changed (as the reference BBR does) */
  BBR_ROUTE_CACHE_CLEAR = 1,   /* clear it, even with no header change */
  BBR_ROUTE_CACHE_KEEP = 2     /* keep it: the changes do not affect routing */
};

/* since 1.1 */
typedef int32_t bbr_metric_kind_t;
enum {
  BBR_METRIC_COUNTER = 0,
  BBR_METRIC_HISTOGRAM = 1
};

/* since 1.1. A metric a plugin instance defines once (bbr_host_api.metric_define)
 * and then bumps by id. The host adds the label plugin_name itself. */
typedef struct bbr_metric_def {
  uint32_t struct_size;
  bbr_metric_kind_t kind;
  bbr_buffer_t name;        /* Prometheus name; a counter's ends in _total */
  bbr_buffer_t help;        /* HELP text; "" is allowed */
  bbr_buffer_t label_name;  /* one label of the plugin's own, "" for none */
  const double *buckets;    /* HISTOGRAM: increasing upper bounds; NULL: the host's
                               default latency buckets (seconds) */
  size_t bucket_count;
} bbr_metric_def_t;

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

/*
 * Notes common to the functions below:
 *   OWNERSHIP  strings passed in are copied before the call returns (the plugin
 *              may free them at once); bbr_buffer_t views handed out are the
 *              host's, borrowed as the header comment says; out-parameters are
 *              the plugin's memory and are only written on BBR_OK.
 *   THREADS    "message thread" means: only on the thread the host called
 *              process_request / process_response on, while that call runs.
 *              "any thread" means: also from threads the plugin started, from
 *              create() until destroy() returns.
 */
typedef struct bbr_host_api {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;

  /* --- message metadata --- */
  /* BBR_PHASE_REQUEST or BBR_PHASE_RESPONSE. THREADS: message thread. */
  bbr_phase_t (*phase)(const bbr_message_t *msg);

  /* --- headers (names compare case-insensitively; header_at shows a received
   * name as Envoy sent it, lower-case, and a name a plugin set as spelt in its
   * last set_header, which is also how it goes to Envoy) ---
   * get_header sees the current state: what earlier plugins set is visible.
   * header_at walks the same current state, index 0 .. header_count()-1.
   * OWNERSHIP: the name/value views are borrowed. THREADS: message thread. */
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
   * remove_header answers BBR_NOT_FOUND when the header is not there.
   * Since 1.1 both answer BBR_UNSUPPORTED in process_response_chunk/_event
   * (the headers are answered before the body's pieces are).
   * OWNERSHIP: name and value are copied. THREADS: message thread. */
  bbr_status_t (*set_header)(bbr_message_t *msg, const char *name, size_t name_length,
                             const char *value, size_t value_length);
  bbr_status_t (*remove_header)(bbr_message_t *msg, const char *name, size_t name_length);

  /* --- body ---
   * OWNERSHIP of every view below: borrowed (see the header comment); pointers
   * and JSON text passed in are copied. THREADS: message thread, all of them. */
  /* The raw body bytes as they stand now (after replace_body, or after JSON
   * edits: spliced into the bytes, or re-serialised when they cannot be). */
  bbr_status_t (*get_body)(bbr_message_t *msg, bbr_buffer_t *body_out);

  /* Typed lookup by JSON Pointer (RFC 6901, "" is the whole document,
   * "/messages/0/role" an element). BBR_NOT_JSON when the body does not parse. */
  bbr_status_t (*json_get)(bbr_message_t *msg, const char *pointer, size_t pointer_length,
                           bbr_json_value_t *value_out);
  /* The value at `pointer` as compact JSON text (a string comes back quoted). */
  bbr_status_t (*json_get_text)(bbr_message_t *msg, const char *pointer,
                                size_t pointer_length, bbr_buffer_t *text_out);
  /* Name of the index-th member of the object at `pointer`, in document order
   * (a name given twice counts once, at its first place): the order it will be
   * sent in. Edits keep it: a member added by json_set goes before the first
   * name that sorts after it. After an edit the host could not splice (see
   * below), sorted by name, as Go encodes it. */
  bbr_status_t (*json_member_name)(bbr_message_t *msg, const char *pointer,
                                   size_t pointer_length, size_t index,
                                   bbr_buffer_t *name_out);

  /* --- body edits: visible to later plugins at once. An edit replaces the
   * bytes of the edited value only (every other byte stays as sent; the value
   * is written as Go's encoding/json writes it). An edit the host cannot
   * splice that way (a name given twice or written with escapes in an object
   * on the pointer's way, a body only Go's lenient decoder accepts; the host's
   * docs/session.md, "Body edits") re-serialises the whole body once after
   * the chain ran, Go-encoded (sorted keys). --- */
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
  /* Answer the client now with this HTTP status (200..599, otherwise
   * BBR_INVALID_ARGUMENT) and body; the chain stops after the current plugin
   * returns, whatever it returns and whatever its failure policy. A body that
   * starts with '{' is sent with content-type application/json, any other
   * without a content-type.
   * OWNERSHIP: the body is copied. THREADS: message thread. */
  bbr_status_t (*reject)(bbr_message_t *msg, uint32_t http_status, const char *body,
                         size_t body_length);
  /* Text explaining a non-BBR_CONTINUE result; logged with the plugin's name.
   * OWNERSHIP: copied. THREADS: message thread. */
  void (*set_error)(bbr_message_t *msg, const char *text, size_t text_length);

  /* --- per-request state shared by the plugins of one stream (request and
   * response phases): the reference's CycleState. `destroy` (may be NULL) is
   * called by the host on the value when it is replaced or the stream ends.
   * OWNERSHIP: the host keeps `value` (never reads or frees it itself) and
   * hands it to `destroy` exactly once (putting the same pointer again under
   * the same key does not destroy it); state_get lends it back.
   * THREADS: both are message-thread calls. `destroy` runs on a host thread:
   * the caller of a replacing state_put, or, at the end of the stream, the
   * thread that ends it, which may be neither thread that called state_put;
   * it never runs concurrently with a callback of the same stream. */
  bbr_status_t (*state_put)(bbr_message_t *msg, const char *key, size_t key_length,
                            void *value, void (*destroy)(void *value));
  bbr_status_t (*state_get)(bbr_message_t *msg, const char *key, size_t key_length,
                            void **value_out);

  /* --- observability ---
   * OWNERSHIP: text and names are copied. THREADS: any thread (the context
   * must still be valid: from create() until destroy() returns). A NULL
   * context is accepted by log (the line then names no plugin) and ignored by
   * counter_add. */
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
   * destroy() returns. Usable from create() on.
   * OWNERSHIP: views borrowed from the host, as said. THREADS: any thread. */
  bbr_status_t (*parameter_get)(const bbr_plugin_context_t *ctx, const char *pointer,
                                size_t pointer_length, bbr_json_value_t *value_out);

  /* ===== since 1.1: read the fields below only when BBR_HAS_FIELD says the
   * host has them (or when host_info said abi_minor >= 1 at load time). ===== */

  /* What the current call is given (unit, position in a stream, the request's
   * :path, the SSE event's fields). THREADS: message thread. */
  bbr_status_t (*message_info)(bbr_message_t *msg, bbr_message_info_t *info_out);

  /* Walks the array or object at `pointer` once, calling `visit` for each
   * element or member in document order (the members of an edited body: in
   * the order it will be sent, as for json_member_name): O(1) per step.
   * BBR_WRONG_TYPE when the value is neither. While the walk runs, the body
   * edits (json_set*, json_remove, replace_body) answer BBR_UNSUPPORTED: edit
   * after the walk.
   * OWNERSHIP: see bbr_json_entry_t. THREADS: message thread. */
  bbr_status_t (*json_for_each)(bbr_message_t *msg, const char *pointer, size_t pointer_length,
                                bbr_json_visit_fn visit, void *user);
  /* Typed setters: like json_set with the JSON text made by the host (a string
   * is escaped by the host and must be valid UTF-8, a number must be finite;
   * otherwise BBR_INVALID_ARGUMENT). THREADS: message thread. */
  bbr_status_t (*json_set_string)(bbr_message_t *msg, const char *pointer,
                                  size_t pointer_length, const char *value,
                                  size_t value_length);
  bbr_status_t (*json_set_integer)(bbr_message_t *msg, const char *pointer,
                                   size_t pointer_length, int64_t value);
  bbr_status_t (*json_set_number)(bbr_message_t *msg, const char *pointer,
                                  size_t pointer_length, double value);
  bbr_status_t (*json_set_bool)(bbr_message_t *msg, const char *pointer,
                                size_t pointer_length, int32_t value);

  /* The request's prompt text, whatever the endpoint (by :path):
   *   /v1/chat/completions  messages[].content (a string, or the "text" of
   *                         its parts), one piece per message
   *   /v1/completions       prompt (a string, or a list of strings)
   *   /v1/embeddings        input (a string, or a list of strings)
   *   /v1/responses         instructions, then input (a string, or items
   *                         whose content is a string or parts with "text")
   *   /v1/messages          (Anthropic) system (a string, or blocks with
   *                         "text"), then messages[].content as chat's
   * Pieces are joined with "\n". BBR_NOT_FOUND for another endpoint or when no
   * such field is there; BBR_NOT_JSON; BBR_UNSUPPORTED outside the request
   * phase. OWNERSHIP: borrowed until the callback returns. THREADS: message thread. */
  bbr_status_t (*prompt_text)(bbr_message_t *msg, bbr_buffer_t *text_out);

  /* Like reject, with headers of the plugin's choice (a content-type among
   * them replaces the guess from the body's first byte; e.g. Retry-After on a
   * 429) and details for Envoy's log. Header names and values are checked as
   * for set_header, with the same result: BBR_INVALID_ARGUMENT, and a value
   * holding CR, LF or NUL makes the host answer 400 instead of this answer.
   * BBR_UNSUPPORTED in process_response_chunk/_event (the response has
   * started: edit or add events instead).
   * OWNERSHIP: everything is copied. THREADS: message thread. */
  bbr_status_t (*reject_with)(bbr_message_t *msg, const bbr_reject_t *reject);

  /* Dynamic metadata for later Envoy filters and the access log:
   * ProcessingResponse.dynamic_metadata[namespace][key] = the JSON text
   * `json_value` as a protobuf Value. The namespace must be one Envoy's
   * ext_proc filter accepts (metadata_options.receiving_namespaces).
   * Sent with the answer to the current message. In
   * process_response_chunk/_event (STREAM_END calls included) it goes with
   * the next body answer the host sends, at the latest with the stream's
   * last chunk: a count known only at the end of a stream reaches Envoy's
   * rate limit filter (apply_on_stream_done). Earlier 1.1 hosts answered
   * BBR_UNSUPPORTED there: check the status.
   * OWNERSHIP: copied. THREADS: message thread. */
  bbr_status_t (*set_dynamic_metadata)(bbr_message_t *msg, const char *ns, size_t ns_length,
                                       const char *key, size_t key_length,
                                       const char *json_value, size_t json_value_length);
  /* The route-cache choice for the answer to the current message. Across the
   * chain, any CLEAR wins; otherwise any KEEP keeps it; otherwise DEFAULT.
   * BBR_UNSUPPORTED in process_response_chunk/_event. THREADS: message thread. */
  bbr_status_t (*set_route_cache)(bbr_message_t *msg, bbr_route_cache_t choice);

  /* What Envoy sent besides headers and body, as JSON text: an attribute by
   * its name ("request.id", "source.address", ...; from
   * ProcessingRequest.attributes, kept for the whole stream), and
   * metadata_context.filter_metadata[ns][key]. BBR_NOT_FOUND when Envoy did
   * not send it. OWNERSHIP: borrowed until the callback returns.
   * THREADS: message thread. */
  bbr_status_t (*get_attribute)(bbr_message_t *msg, const char *name, size_t name_length,
                                bbr_buffer_t *json_out);
  bbr_status_t (*get_metadata)(bbr_message_t *msg, const char *ns, size_t ns_length,
                               const char *key, size_t key_length, bbr_buffer_t *json_out);

  /* SSE events, in process_response_event only (elsewhere BBR_UNSUPPORTED).
   * event_drop (SSE_EVENT calls): the current event is not forwarded and
   * later plugins do not see it. event_add (SSE_EVENT and STREAM_END calls): a new event with this `event:` name ("" for none) and
   * data (split into several data: lines at "\n") goes out right after the
   * current one and passes through the plugins after this one.
   * In an SSE_EVENT call get_body and the json_* calls read the event's data
   * (JSON when it parses), and replace_body and the json edits change it.
   * Events are blocks with at least one data: line, as the SSE spec
   * dispatches them. A block without data (a comment such as ": ping", or
   * `event: ping` alone) is no event for a client either: it goes on as it
   * came and is not offered to this hook (bbr_message_info_t has no field
   * that could tell it from an event with empty data, and its layout is
   * frozen). A stream whose last event lacks the closing blank line has that
   * event completed (the blank line added) and offered as the final
   * SSE_EVENT call (sse_done set on [DONE]) before STREAM_END, so events
   * added at the end never run into it.
   * OWNERSHIP: copied. THREADS: message thread. */
  bbr_status_t (*event_drop)(bbr_message_t *msg);
  bbr_status_t (*event_add)(bbr_message_t *msg, const char *event_name,
                            size_t event_name_length, const char *data, size_t data_length);

  /* Metrics defined once and bumped by id (no lookup by name, no global lock).
   * metric_define: create() is the place (allowed any time); the same name in
   * another instance is the same family (plugin_name tells them apart); the
   * same name with another kind, label or buckets is BBR_INVALID_ARGUMENT.
   * metric_add adds to a counter, metric_observe records into a histogram;
   * a label value is given when the definition names a label ("" otherwise).
   * An unknown id or the wrong kind is BBR_INVALID_ARGUMENT.
   * OWNERSHIP: copied. THREADS: any thread. */
  bbr_status_t (*metric_define)(const bbr_plugin_context_t *ctx, const bbr_metric_def_t *def,
                                uint32_t *id_out);
  bbr_status_t (*metric_add)(const bbr_plugin_context_t *ctx, uint32_t id,
                             const char *label_value, size_t label_value_length,
                             uint64_t delta);
  bbr_status_t (*metric_observe)(const bbr_plugin_context_t *ctx, uint32_t id,
                                 const char *label_value, size_t label_value_length,
                                 double value);

  /* Walks the parameter array or object at `pointer` ("" the whole parameters
   * object), as json_for_each does the body: members in the order the operator
   * wrote them (schema defaults the host filled in come after them).
   * BBR_NOT_FOUND when absent. THREADS: any thread. */
  bbr_status_t (*parameter_for_each)(const bbr_plugin_context_t *ctx, const char *pointer,
                                     size_t pointer_length, bbr_json_visit_fn visit,
                                     void *user);
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
   * were given. The host has checked them against parameters_schema first.
   * For a plugin built against 1.1 or later (bbr_plugin_library.abi_minor
   * >= 1) the host also fills in each `default` of the schema's `properties`
   * (recursively inside the objects given; not from allOf/anyOf/oneOf) that
   * the operator left out, so the text, parameter_get and parameter_for_each
   * all see them; an object then arrives even when none were given, if the
   * schema has defaults. A 1.0 plugin gets exactly what was written. */
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
  /* JSON Schema of the parameters, or NULL. The host refuses parameters
   * that break it before create() (the subset it checks: docs/abi.md) and,
   * for a 1.1 plugin, applies its defaults (see bbr_create_args.parameters_json). */
  const char *parameters_schema;

  /* Returns 0 and sets *instance_out, or non-zero with args->error filled. */
  int (*create)(const bbr_create_args_t *args, void **instance_out);
  void (*destroy)(void *instance);
  /* NULL when the matching capability is not declared. */
  bbr_result_t (*process_request)(void *instance, bbr_message_t *msg);
  bbr_result_t (*process_response)(void *instance, bbr_message_t *msg);

  /* since 1.1 (NULL when the matching capability is not declared).
   * Per response the host feeds each response plugin the body in the unit it
   * declares, the least buffering first: a text/event-stream response goes
   * event by event to plugins with process_response_event; other streamed
   * bodies (and SSE to plugins without the event hook) go chunk by chunk to
   * plugins with process_response_chunk; everything else calls
   * process_response once with the whole body, which makes the host buffer
   * that response. Each plugin sees what the plugins before it made of the
   * body; each event or chunk is forwarded as soon as the chain is done with
   * it. The chain ends with one BBR_BODY_STREAM_END call per plugin.
   * A failure result in these hooks cannot become an error answer (the
   * response has started): it is logged and counted, and the event or chunk
   * goes on as the plugin left it. */
  bbr_result_t (*process_response_chunk)(void *instance, bbr_message_t *msg);
  bbr_result_t (*process_response_event)(void *instance, bbr_message_t *msg);
} bbr_plugin_type_t;

typedef struct bbr_plugin_library {
  uint32_t struct_size;
  uint32_t abi_major; /* must be BBR_ABI_MAJOR */
  uint32_t abi_minor; /* BBR_ABI_MINOR the plugin was built with */
  uint32_t type_count;
  const bbr_plugin_type_t *const *types; /* type_count pointers */
} bbr_plugin_library_t;

/* What the host tells the plugin about itself when it loads it. A plugin that
 * needs a newer minor than host->abi_minor refuses by returning NULL from its
 * entry; a host that is older than the plugin's abi_minor still loads it and
 * logs a warning naming the file. */
typedef struct bbr_host_info {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  const char *host_version;
} bbr_host_info_t;

/* The one symbol a plugin library exports. Returns its descriptor, or NULL to
 * refuse loading (e.g. an incompatible host). Called once per dlopen, on the
 * thread that loads plugins. OWNERSHIP: `host` is valid only during the call
 * (copy what you need); the returned descriptor is the plugin's and must stay
 * valid while the library is loaded. */
typedef const bbr_plugin_library_t *(*bbr_plugin_entry_fn)(const bbr_host_info_t *host);

/* ------------------------------------------------------------------------ */
/* Layout, frozen: 1.0, then what 1.1 appended (LP64: x86-64, aarch64 Linux)*/
/* ------------------------------------------------------------------------ */

#if defined(__cplusplus)
#define BBR_ABI_ASSERT_(cond, what) static_assert(cond, what)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define BBR_ABI_ASSERT_(cond, what) _Static_assert(cond, what)
#endif

#if defined(BBR_ABI_ASSERT_) && (defined(__LP64__) || defined(_LP64))
#define BBR_ABI_SIZE_(type, size) \
  BBR_ABI_ASSERT_(sizeof(type) == (size), "ABI 1.0: sizeof(" #type ") changed")
#define BBR_ABI_AT_(type, field, offset) \
  BBR_ABI_ASSERT_(offsetof(type, field) == (offset), "ABI 1.0: " #type "." #field " moved")
BBR_ABI_SIZE_(bbr_status_t, 4);
BBR_ABI_SIZE_(bbr_result_t, 4);
BBR_ABI_SIZE_(bbr_log_level_t, 4);
BBR_ABI_SIZE_(bbr_phase_t, 4);
BBR_ABI_SIZE_(bbr_json_type_t, 4);

BBR_ABI_SIZE_(bbr_buffer_t, 16);
BBR_ABI_AT_(bbr_buffer_t, data, 0);
BBR_ABI_AT_(bbr_buffer_t, length, 8);

BBR_ABI_SIZE_(bbr_json_value_t, 56);
BBR_ABI_AT_(bbr_json_value_t, struct_size, 0);
BBR_ABI_AT_(bbr_json_value_t, type, 4);
BBR_ABI_AT_(bbr_json_value_t, boolean, 8);
BBR_ABI_AT_(bbr_json_value_t, integer, 16);
BBR_ABI_AT_(bbr_json_value_t, number, 24);
BBR_ABI_AT_(bbr_json_value_t, string, 32);
BBR_ABI_AT_(bbr_json_value_t, size, 48);

/* 1.0 ends at 184; 1.1 appends from there (asserted below). */
BBR_ABI_AT_(bbr_host_api_t, struct_size, 0);
BBR_ABI_AT_(bbr_host_api_t, abi_major, 4);
BBR_ABI_AT_(bbr_host_api_t, abi_minor, 8);
BBR_ABI_AT_(bbr_host_api_t, phase, 16);
BBR_ABI_AT_(bbr_host_api_t, get_header, 24);
BBR_ABI_AT_(bbr_host_api_t, header_count, 32);
BBR_ABI_AT_(bbr_host_api_t, header_at, 40);
BBR_ABI_AT_(bbr_host_api_t, set_header, 48);
BBR_ABI_AT_(bbr_host_api_t, remove_header, 56);
BBR_ABI_AT_(bbr_host_api_t, get_body, 64);
BBR_ABI_AT_(bbr_host_api_t, json_get, 72);
BBR_ABI_AT_(bbr_host_api_t, json_get_text, 80);
BBR_ABI_AT_(bbr_host_api_t, json_member_name, 88);
BBR_ABI_AT_(bbr_host_api_t, json_set, 96);
BBR_ABI_AT_(bbr_host_api_t, json_remove, 104);
BBR_ABI_AT_(bbr_host_api_t, replace_body, 112);
BBR_ABI_AT_(bbr_host_api_t, reject, 120);
BBR_ABI_AT_(bbr_host_api_t, set_error, 128);
BBR_ABI_AT_(bbr_host_api_t, state_put, 136);
BBR_ABI_AT_(bbr_host_api_t, state_get, 144);
BBR_ABI_AT_(bbr_host_api_t, log_enabled, 152);
BBR_ABI_AT_(bbr_host_api_t, log, 160);
BBR_ABI_AT_(bbr_host_api_t, counter_add, 168);
BBR_ABI_AT_(bbr_host_api_t, parameter_get, 176);

BBR_ABI_SIZE_(bbr_create_args_t, 72);
BBR_ABI_AT_(bbr_create_args_t, struct_size, 0);
BBR_ABI_AT_(bbr_create_args_t, api, 8);
BBR_ABI_AT_(bbr_create_args_t, context, 16);
BBR_ABI_AT_(bbr_create_args_t, instance_name, 24);
BBR_ABI_AT_(bbr_create_args_t, parameters_json, 40);
BBR_ABI_AT_(bbr_create_args_t, error, 56);
BBR_ABI_AT_(bbr_create_args_t, error_capacity, 64);

/* 1.0 ends at 80; 1.1 appends from there (asserted below). */
BBR_ABI_AT_(bbr_plugin_type_t, struct_size, 0);
BBR_ABI_AT_(bbr_plugin_type_t, name, 8);
BBR_ABI_AT_(bbr_plugin_type_t, version, 16);
BBR_ABI_AT_(bbr_plugin_type_t, description, 24);
BBR_ABI_AT_(bbr_plugin_type_t, capabilities, 32);
BBR_ABI_AT_(bbr_plugin_type_t, parameters_schema, 40);
BBR_ABI_AT_(bbr_plugin_type_t, create, 48);
BBR_ABI_AT_(bbr_plugin_type_t, destroy, 56);
BBR_ABI_AT_(bbr_plugin_type_t, process_request, 64);
BBR_ABI_AT_(bbr_plugin_type_t, process_response, 72);

BBR_ABI_SIZE_(bbr_plugin_library_t, 24);
BBR_ABI_AT_(bbr_plugin_library_t, struct_size, 0);
BBR_ABI_AT_(bbr_plugin_library_t, abi_major, 4);
BBR_ABI_AT_(bbr_plugin_library_t, abi_minor, 8);
BBR_ABI_AT_(bbr_plugin_library_t, type_count, 12);
BBR_ABI_AT_(bbr_plugin_library_t, types, 16);

BBR_ABI_SIZE_(bbr_host_info_t, 24);
BBR_ABI_AT_(bbr_host_info_t, struct_size, 0);
BBR_ABI_AT_(bbr_host_info_t, abi_major, 4);
BBR_ABI_AT_(bbr_host_info_t, abi_minor, 8);
BBR_ABI_AT_(bbr_host_info_t, host_version, 16);

/* ABI 1.1: appended members and new structs (LP64). */
BBR_ABI_AT_(bbr_host_api_t, message_info, 184);
BBR_ABI_AT_(bbr_host_api_t, json_for_each, 192);
BBR_ABI_AT_(bbr_host_api_t, json_set_string, 200);
BBR_ABI_AT_(bbr_host_api_t, json_set_integer, 208);
BBR_ABI_AT_(bbr_host_api_t, json_set_number, 216);
BBR_ABI_AT_(bbr_host_api_t, json_set_bool, 224);
BBR_ABI_AT_(bbr_host_api_t, prompt_text, 232);
BBR_ABI_AT_(bbr_host_api_t, reject_with, 240);
BBR_ABI_AT_(bbr_host_api_t, set_dynamic_metadata, 248);
BBR_ABI_AT_(bbr_host_api_t, set_route_cache, 256);
BBR_ABI_AT_(bbr_host_api_t, get_attribute, 264);
BBR_ABI_AT_(bbr_host_api_t, get_metadata, 272);
BBR_ABI_AT_(bbr_host_api_t, event_drop, 280);
BBR_ABI_AT_(bbr_host_api_t, event_add, 288);
BBR_ABI_AT_(bbr_host_api_t, metric_define, 296);
BBR_ABI_AT_(bbr_host_api_t, metric_add, 304);
BBR_ABI_AT_(bbr_host_api_t, metric_observe, 312);
BBR_ABI_AT_(bbr_host_api_t, parameter_for_each, 320);
BBR_ABI_SIZE_(bbr_host_api_t, 328);

BBR_ABI_AT_(bbr_plugin_type_t, process_response_chunk, 80);
BBR_ABI_AT_(bbr_plugin_type_t, process_response_event, 88);
BBR_ABI_SIZE_(bbr_plugin_type_t, 96);

BBR_ABI_SIZE_(bbr_body_unit_t, 4);
BBR_ABI_SIZE_(bbr_route_cache_t, 4);
BBR_ABI_SIZE_(bbr_metric_kind_t, 4);

BBR_ABI_SIZE_(bbr_message_info_t, 72);
BBR_ABI_AT_(bbr_message_info_t, struct_size, 0);
BBR_ABI_AT_(bbr_message_info_t, unit, 4);
BBR_ABI_AT_(bbr_message_info_t, sequence, 8);
BBR_ABI_AT_(bbr_message_info_t, end_of_stream, 16);
BBR_ABI_AT_(bbr_message_info_t, sse_done, 20);
BBR_ABI_AT_(bbr_message_info_t, request_path, 24);
BBR_ABI_AT_(bbr_message_info_t, event_name, 40);
BBR_ABI_AT_(bbr_message_info_t, event_id, 56);

BBR_ABI_SIZE_(bbr_json_entry_t, 104);
BBR_ABI_AT_(bbr_json_entry_t, struct_size, 0);
BBR_ABI_AT_(bbr_json_entry_t, index, 8);
BBR_ABI_AT_(bbr_json_entry_t, name, 16);
BBR_ABI_AT_(bbr_json_entry_t, pointer, 32);
BBR_ABI_AT_(bbr_json_entry_t, value, 48);

BBR_ABI_SIZE_(bbr_header_pair_t, 32);
BBR_ABI_AT_(bbr_header_pair_t, name, 0);
BBR_ABI_AT_(bbr_header_pair_t, value, 16);

BBR_ABI_SIZE_(bbr_reject_t, 56);
BBR_ABI_AT_(bbr_reject_t, struct_size, 0);
BBR_ABI_AT_(bbr_reject_t, http_status, 4);
BBR_ABI_AT_(bbr_reject_t, body, 8);
BBR_ABI_AT_(bbr_reject_t, headers, 24);
BBR_ABI_AT_(bbr_reject_t, header_count, 32);
BBR_ABI_AT_(bbr_reject_t, details, 40);

BBR_ABI_SIZE_(bbr_metric_def_t, 72);
BBR_ABI_AT_(bbr_metric_def_t, struct_size, 0);
BBR_ABI_AT_(bbr_metric_def_t, kind, 4);
BBR_ABI_AT_(bbr_metric_def_t, name, 8);
BBR_ABI_AT_(bbr_metric_def_t, help, 24);
BBR_ABI_AT_(bbr_metric_def_t, label_name, 40);
BBR_ABI_AT_(bbr_metric_def_t, buckets, 56);
BBR_ABI_AT_(bbr_metric_def_t, bucket_count, 64);
#undef BBR_ABI_SIZE_
#undef BBR_ABI_AT_
#endif
#undef BBR_ABI_ASSERT_

#ifdef __cplusplus
}
#endif

#endif /* BBR_PLUGIN_H */
