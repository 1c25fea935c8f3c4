/* Test-only plugin types for streamed responses (ABI 1.1 hooks), in plain C
 * against plugin.h alone, as a third party would write them. Each is driven by
 * its parameters (read through the host's parameter_get).
 *
 *   test-event-editor   process_response_event: sets the event's "/model"
 *                       (setModel), drops events whose data contains
 *                       dropContaining, adds an event after one containing
 *                       addAfter, adds addAtEnd at BBR_BODY_STREAM_END,
 *                       drops the [DONE] event when dropDone (message_info's
 *                       sse_done), sets "/<sequenceField>" on JSON object
 *                       events to message_info's sequence, returns `fail` as
 *                       its result (after editing).
 *   test-chunk-counter  process_response_chunk: wraps each non-empty chunk in
 *                       `mark` ("<mark>chunk"), counts the calls per stream in
 *                       the request state and, at BBR_BODY_STREAM_END, writes
 *                       "chunks=<n>" when `trailer` is true, and sets the
 *                       dynamic metadata test.chunks/count = <n> when
 *                       `metadata` is true. With
 *                       markSequence the mark carries message_info's
 *                       sequence ("<mark><sequence>:chunk").
 *   test-event-whole    process_response_event and process_response: the
 *                       event hook upper-cases nothing, it sets "/seen" on JSON
 *                       events; the whole hook sets header x-whole: yes.
 *   test-chunk-overlap  process_response_chunk, NOT thread-safe: notes when two
 *                       calls into its instances ever overlap (each call
 *                       lingers a little) and, at BBR_BODY_STREAM_END, writes
 *                       "overlap=<0|1>": pins that the host serialises the
 *                       chunk calls of a type without BBR_CAP_THREAD_SAFE.
 * The 1.1 host calls (message_info, event_drop, event_add) are used only when
 * the host's table has them (BBR_HAS_FIELD).
 */
#include <bbr/plugin.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  const bbr_host_api_t* api;
  const bbr_plugin_context_t* ctx;
  char set_model[128];
  char drop_containing[128];
  char add_after[128];
  char add_at_end[256];
  char mark[64];
  char sequence_field[64];
  int mark_sequence;
  int trailer;
  int metadata;
  int drop_done;
  int32_t fail;
} stream_test_t;

static void param_string(stream_test_t* self, const char* pointer, char* out, size_t cap) {
  bbr_json_value_t v;
  memset(&v, 0, sizeof(v));
  v.struct_size = sizeof(v);
  out[0] = '\0';
  if (self->api->parameter_get(self->ctx, pointer, strlen(pointer), &v) == BBR_OK &&
      v.type == BBR_JSON_STRING && v.string.length < cap) {
    memcpy(out, v.string.data, v.string.length);
    out[v.string.length] = '\0';
  }
}

static int64_t param_int(stream_test_t* self, const char* pointer, int64_t fallback) {
  bbr_json_value_t v;
  memset(&v, 0, sizeof(v));
  v.struct_size = sizeof(v);
  if (self->api->parameter_get(self->ctx, pointer, strlen(pointer), &v) == BBR_OK) {
    if (v.type == BBR_JSON_INTEGER) return v.integer;
    if (v.type == BBR_JSON_BOOL) return v.boolean;
  }
  return fallback;
}

static int stream_test_create(const bbr_create_args_t* args, void** instance_out) {
  stream_test_t* self = (stream_test_t*)calloc(1, sizeof(stream_test_t));
  if (self == NULL) return 1;
  self->api = args->api;
  self->ctx = args->context;
  param_string(self, "/setModel", self->set_model, sizeof(self->set_model));
  param_string(self, "/dropContaining", self->drop_containing, sizeof(self->drop_containing));
  param_string(self, "/addAfter", self->add_after, sizeof(self->add_after));
  param_string(self, "/addAtEnd", self->add_at_end, sizeof(self->add_at_end));
  param_string(self, "/mark", self->mark, sizeof(self->mark));
  param_string(self, "/sequenceField", self->sequence_field + 1, sizeof(self->sequence_field) - 1);
  if (self->sequence_field[1] != '\0') self->sequence_field[0] = '/';
  self->mark_sequence = (int)param_int(self, "/markSequence", 0);
  self->trailer = (int)param_int(self, "/trailer", 0);
  self->metadata = (int)param_int(self, "/metadata", 0);
  self->drop_done = (int)param_int(self, "/dropDone", 0);
  self->fail = (int32_t)param_int(self, "/fail", 0);
  *instance_out = self;
  return 0;
}

static void stream_test_destroy(void* instance) { free(instance); }

/* The current unit, or -1 when the host cannot say (a 1.0 host table). */
static int32_t unit_of(stream_test_t* self, bbr_message_t* msg) {
  if (!BBR_HAS_FIELD(self->api, bbr_host_api_t, message_info)) return -1;
  bbr_message_info_t info;
  memset(&info, 0, sizeof(info));
  info.struct_size = sizeof(info);
  if (self->api->message_info(msg, &info) != BBR_OK) return -1;
  return info.unit;
}

/* message_info's sequence (0 on a 1.0 host table). */
static uint64_t sequence_of(stream_test_t* self, bbr_message_t* msg) {
  if (!BBR_HAS_FIELD(self->api, bbr_host_api_t, message_info)) return 0;
  bbr_message_info_t info;
  memset(&info, 0, sizeof(info));
  info.struct_size = sizeof(info);
  if (self->api->message_info(msg, &info) != BBR_OK) return 0;
  return info.sequence;
}

/* The decimal digits of `n` into `out` (no NUL); their count. */
static size_t decimal(uint64_t n, char* out) {
  char digits[24];
  size_t d = 0;
  do {
    digits[d++] = (char)('0' + n % 10);
    n /= 10;
  } while (n != 0);
  for (size_t i = 0; i < d; ++i) out[i] = digits[d - 1 - i];
  return d;
}

static int body_contains(stream_test_t* self, bbr_message_t* msg, const char* needle) {
  bbr_buffer_t body;
  size_t n = strlen(needle);
  if (n == 0 || self->api->get_body(msg, &body) != BBR_OK || body.length < n) return 0;
  for (size_t i = 0; i + n <= body.length; ++i) {
    if (memcmp(body.data + i, needle, n) == 0) return 1;
  }
  return 0;
}

static bbr_result_t event_editor(void* instance, bbr_message_t* msg) {
  stream_test_t* self = (stream_test_t*)instance;
  const bbr_host_api_t* api = self->api;
  const int has_events = BBR_HAS_FIELD(api, bbr_host_api_t, event_add);
  if (unit_of(self, msg) == BBR_BODY_STREAM_END) {
    if (self->add_at_end[0] != '\0' && has_events) {
      api->event_add(msg, "", 0, self->add_at_end, strlen(self->add_at_end));
    }
    return BBR_CONTINUE;
  }
  if (self->set_model[0] != '\0') {
    bbr_json_value_t v;
    memset(&v, 0, sizeof(v));
    v.struct_size = sizeof(v);
    if (api->json_get(msg, "/model", 6, &v) == BBR_OK) {
      char quoted[132];
      size_t n = strlen(self->set_model);
      quoted[0] = '"';
      memcpy(quoted + 1, self->set_model, n);
      quoted[n + 1] = '"';
      api->json_set(msg, "/model", 6, quoted, n + 2);
    }
  }
  if (self->sequence_field[0] != '\0') {
    bbr_json_value_t v;
    memset(&v, 0, sizeof(v));
    v.struct_size = sizeof(v);
    if (api->json_get(msg, "", 0, &v) == BBR_OK && v.type == BBR_JSON_OBJECT) {
      char number[24];
      size_t n = decimal(sequence_of(self, msg), number);
      api->json_set(msg, self->sequence_field, strlen(self->sequence_field), number, n);
    }
  }
  if (has_events && body_contains(self, msg, self->add_after)) {
    static const char added[] = "{\"added\":true}";
    api->event_add(msg, "added", 5, added, sizeof(added) - 1);
  }
  if (has_events && body_contains(self, msg, self->drop_containing)) api->event_drop(msg);
  if (has_events && self->drop_done) {
    bbr_message_info_t info;
    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    if (api->message_info(msg, &info) == BBR_OK && info.sse_done) api->event_drop(msg);
  }
  if (self->fail != 0) {
    static const char text[] = "failing on purpose";
    api->set_error(msg, text, sizeof(text) - 1);
    return (bbr_result_t)self->fail;
  }
  return BBR_CONTINUE;
}

static void free_count(void* value) { free(value); }

static bbr_result_t chunk_counter(void* instance, bbr_message_t* msg) {
  stream_test_t* self = (stream_test_t*)instance;
  const bbr_host_api_t* api = self->api;
  void* value = NULL;
  uint64_t* count = NULL;
  if (api->state_get(msg, "test-chunks", 11, &value) == BBR_OK) {
    count = (uint64_t*)value;
  } else {
    count = (uint64_t*)calloc(1, sizeof(uint64_t));
    if (count == NULL) return BBR_FAIL_INTERNAL;
    api->state_put(msg, "test-chunks", 11, count, free_count);
  }
  if (unit_of(self, msg) == BBR_BODY_STREAM_END) {
    if (self->trailer) {
      char text[32];
      memcpy(text, "chunks=", 7);
      size_t n = 7 + decimal(*count, text + 7);
      api->replace_body(msg, text, n);
    }
    if (self->metadata && BBR_HAS_FIELD(api, bbr_host_api_t, set_dynamic_metadata)) {
      char number[24];
      size_t n = decimal(*count, number);
      if (api->set_dynamic_metadata(msg, "test.chunks", 11, "count", 5, number, n) != BBR_OK)
        return BBR_FAIL_INTERNAL;
    }
    return BBR_CONTINUE;
  }
  ++*count;
  bbr_buffer_t body;
  if (self->mark[0] != '\0' && api->get_body(msg, &body) == BBR_OK && body.length > 0) {
    char mark[64 + 26];
    size_t m = strlen(self->mark);
    memcpy(mark, self->mark, m);
    if (self->mark_sequence) {
      m += decimal(sequence_of(self, msg), mark + m);
      mark[m++] = ':';
    }
    char* joined = (char*)malloc(m + body.length);
    if (joined == NULL) return BBR_FAIL_INTERNAL;
    memcpy(joined, mark, m);
    memcpy(joined + m, body.data, body.length);
    api->replace_body(msg, joined, m + body.length);
    free(joined);
  }
  return BBR_CONTINUE;
}

static bbr_result_t event_whole_event(void* instance, bbr_message_t* msg) {
  stream_test_t* self = (stream_test_t*)instance;
  bbr_json_value_t v;
  memset(&v, 0, sizeof(v));
  v.struct_size = sizeof(v);
  if (self->api->json_get(msg, "", 0, &v) == BBR_OK && v.type == BBR_JSON_OBJECT) {
    self->api->json_set(msg, "/seen", 5, "true", 4);
  }
  return BBR_CONTINUE;
}

static bbr_result_t event_whole_response(void* instance, bbr_message_t* msg) {
  stream_test_t* self = (stream_test_t*)instance;
  self->api->set_header(msg, "x-whole", 7, "yes", 3);
  return BBR_CONTINUE;
}

static atomic_int overlap_inside;
static atomic_int overlap_seen;

static bbr_result_t chunk_overlap(void* instance, bbr_message_t* msg) {
  stream_test_t* self = (stream_test_t*)instance;
  if (atomic_fetch_add(&overlap_inside, 1) != 0) atomic_store(&overlap_seen, 1);
  struct timespec pause = {0, 100000};
  nanosleep(&pause, NULL);
  if (unit_of(self, msg) == BBR_BODY_STREAM_END) {
    const char* text = atomic_load(&overlap_seen) ? "overlap=1" : "overlap=0";
    self->api->replace_body(msg, text, strlen(text));
  }
  atomic_fetch_sub(&overlap_inside, 1);
  return BBR_CONTINUE;
}

static const bbr_plugin_type_t event_editor_type = {sizeof(bbr_plugin_type_t),
                                                    "test-event-editor",
                                                    "1.0.0",
                                                    "edits, drops and adds SSE events",
                                                    BBR_CAP_RESPONSE_EVENT | BBR_CAP_THREAD_SAFE,
                                                    NULL,
                                                    stream_test_create,
                                                    stream_test_destroy,
                                                    NULL,
                                                    NULL,
                                                    NULL,
                                                    event_editor};

static const bbr_plugin_type_t chunk_counter_type = {sizeof(bbr_plugin_type_t),
                                                     "test-chunk-counter",
                                                     "1.0.0",
                                                     "marks and counts response chunks",
                                                     BBR_CAP_RESPONSE_CHUNK | BBR_CAP_THREAD_SAFE,
                                                     NULL,
                                                     stream_test_create,
                                                     stream_test_destroy,
                                                     NULL,
                                                     NULL,
                                                     chunk_counter,
                                                     NULL};

static const bbr_plugin_type_t event_whole_type = {
    sizeof(bbr_plugin_type_t),
    "test-event-whole",
    "1.0.0",
    "an event hook and a whole-body hook",
    BBR_CAP_RESPONSE | BBR_CAP_RESPONSE_EVENT | BBR_CAP_THREAD_SAFE,
    NULL,
    stream_test_create,
    stream_test_destroy,
    NULL,
    event_whole_response,
    NULL,
    event_whole_event};

static const bbr_plugin_type_t chunk_overlap_type = {sizeof(bbr_plugin_type_t),
                                                     "test-chunk-overlap",
                                                     "1.0.0",
                                                     "notes overlapping chunk calls",
                                                     BBR_CAP_RESPONSE_CHUNK,
                                                     NULL,
                                                     stream_test_create,
                                                     stream_test_destroy,
                                                     NULL,
                                                     NULL,
                                                     chunk_overlap,
                                                     NULL};

static const bbr_plugin_type_t* const types[] = {&event_editor_type, &chunk_counter_type,
                                                 &event_whole_type, &chunk_overlap_type};
static const bbr_plugin_library_t library = {sizeof(bbr_plugin_library_t), BBR_ABI_MAJOR,
                                             BBR_ABI_MINOR, 4, types};

BBR_PLUGIN_EXPORT const bbr_plugin_library_t* bbr_plugin_entry_v1(const bbr_host_info_t* host) {
  (void)host;
  return &library;
}
