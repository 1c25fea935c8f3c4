/* A plugin that needs ABI 1.1 and uses every call 1.1 added: it refuses a
 * 1.0 host from its entry, and reports what each call gave it in headers (so
 * tests/abi and the integration test can check it from outside).
 *
 * Parameters: {"headers": {"name": "value", ...}} set on every request
 * (parameter_for_each), optional "label" for its counter's label.
 * Request body switches: "/abi11_reject": true answers 429 with reject_with. */
#include <bbr/plugin.h>

#include <stdio.h>
#include <string.h>

#define MAX_HEADERS 8

typedef struct instance {
  const bbr_host_api_t* api;
  const bbr_plugin_context_t* ctx;
  uint32_t requests_id; /* counter, label "route" */
  uint32_t prompt_id;   /* histogram of prompt lengths */
  size_t header_count;
  bbr_buffer_t header_names[MAX_HEADERS]; /* views into the parameters: valid until destroy */
  bbr_buffer_t header_values[MAX_HEADERS];
} instance_t;

static instance_t instances[8];
static unsigned next_instance = 0;

static void set_header_str(instance_t* self, bbr_message_t* msg, const char* name,
                           const char* value, size_t value_length) {
  self->api->set_header(msg, name, strlen(name), value, value_length);
}

static void set_header_u64(instance_t* self, bbr_message_t* msg, const char* name,
                           unsigned long long value) {
  char text[32];
  int n = snprintf(text, sizeof text, "%llu", value);
  set_header_str(self, msg, name, text, (size_t)n);
}

static int32_t collect_header(void* user, const bbr_json_entry_t* entry) {
  instance_t* self = (instance_t*)user;
  if (entry->value.type != BBR_JSON_STRING || self->header_count >= MAX_HEADERS) return 0;
  self->header_names[self->header_count] = entry->name;
  self->header_values[self->header_count] = entry->value.string;
  ++self->header_count;
  return 0;
}

static int create(const bbr_create_args_t* args, void** instance_out) {
  instance_t* self = &instances[next_instance++ % 8];
  bbr_metric_def_t def;
  static const double prompt_buckets[] = {10, 100, 1000};
  memset(self, 0, sizeof *self);
  self->api = args->api;
  self->ctx = args->context;

  memset(&def, 0, sizeof def);
  def.struct_size = sizeof def;
  def.kind = BBR_METRIC_COUNTER;
  def.name.data = "abi11_requests_total";
  def.name.length = strlen(def.name.data);
  def.help.data = "Requests the ABI 1.1 test plugin saw, by route.";
  def.help.length = strlen(def.help.data);
  def.label_name.data = "route";
  def.label_name.length = 5;
  if (self->api->metric_define(self->ctx, &def, &self->requests_id) != BBR_OK) {
    snprintf(args->error, args->error_capacity, "metric_define (counter) failed");
    return 1;
  }
  def.kind = BBR_METRIC_HISTOGRAM;
  def.name.data = "abi11_prompt_chars";
  def.name.length = strlen(def.name.data);
  def.help.data = "Prompt length in bytes.";
  def.help.length = strlen(def.help.data);
  def.label_name.data = "";
  def.label_name.length = 0;
  def.buckets = prompt_buckets;
  def.bucket_count = 3;
  if (self->api->metric_define(self->ctx, &def, &self->prompt_id) != BBR_OK) {
    snprintf(args->error, args->error_capacity, "metric_define (histogram) failed");
    return 1;
  }
  /* BBR_NOT_FOUND without parameters: nothing to set. */
  self->api->parameter_for_each(self->ctx, "/headers", 8, collect_header, self);
  *instance_out = self;
  return 0;
}

static void destroy(void* instance) { (void)instance; }

/* Counts the messages and, walking each one nested, the members of all. */
typedef struct walk {
  instance_t* self;
  bbr_message_t* msg;
  size_t elements;
  size_t members;
} walk_t;

static int32_t count_member(void* user, const bbr_json_entry_t* entry) {
  (void)entry;
  ++((walk_t*)user)->members;
  return 0;
}

static int32_t count_message(void* user, const bbr_json_entry_t* entry) {
  walk_t* w = (walk_t*)user;
  ++w->elements;
  if (entry->value.type == BBR_JSON_OBJECT) {
    w->self->api->json_for_each(w->msg, entry->pointer.data, entry->pointer.length, count_member,
                                w);
  }
  return 0;
}

static bbr_result_t process_request(void* instance, bbr_message_t* msg) {
  instance_t* self = (instance_t*)instance;
  const bbr_host_api_t* api = self->api;
  bbr_message_info_t info;
  bbr_buffer_t text;
  bbr_json_value_t flag;
  walk_t w;
  size_t i;

  for (i = 0; i < self->header_count; ++i) {
    api->set_header(msg, self->header_names[i].data, self->header_names[i].length,
                    self->header_values[i].data, self->header_values[i].length);
  }

  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  if (api->message_info(msg, &info) == BBR_OK) {
    set_header_str(self, msg, "x-abi11-path", info.request_path.data, info.request_path.length);
    set_header_u64(self, msg, "x-abi11-unit", (unsigned long long)info.unit);
  }

  memset(&w, 0, sizeof w);
  w.self = self;
  w.msg = msg;
  if (api->json_for_each(msg, "/messages", 9, count_message, &w) == BBR_OK) {
    set_header_u64(self, msg, "x-abi11-messages", w.elements);
    set_header_u64(self, msg, "x-abi11-message-members", w.members);
  }

  if (api->prompt_text(msg, &text) == BBR_OK) {
    set_header_u64(self, msg, "x-abi11-prompt-length", text.length);
    api->metric_observe(self->ctx, self->prompt_id, "", 0, (double)text.length);
  }

  if (api->get_attribute(msg, "request.id", 10, &text) == BBR_OK) {
    set_header_str(self, msg, "x-abi11-request-id", text.data, text.length);
  }
  if (api->get_metadata(msg, "abi11.in", 8, "tenant", 6, &text) == BBR_OK) {
    set_header_str(self, msg, "x-abi11-tenant", text.data, text.length);
  }

  /* Typed setters into a fresh object. */
  if (api->json_set(msg, "/abi11", 6, "{}", 2) == BBR_OK) {
    api->json_set_string(msg, "/abi11/s", 8, "say \"hi\"", 8);
    api->json_set_integer(msg, "/abi11/i", 8, -7);
    api->json_set_number(msg, "/abi11/n", 8, 0.5);
    api->json_set_bool(msg, "/abi11/b", 8, 1);
  }

  if (api->json_get_text(msg, "/model", 6, &text) == BBR_OK) {
    api->set_dynamic_metadata(msg, "bbr.abi11", 9, "model", 5, text.data, text.length);
  }
  api->set_route_cache(msg, BBR_ROUTE_CACHE_KEEP);
  api->metric_add(self->ctx, self->requests_id, info.request_path.data, info.request_path.length,
                  1);

  memset(&flag, 0, sizeof flag);
  flag.struct_size = sizeof flag;
  if (api->json_get(msg, "/abi11_reject", 13, &flag) == BBR_OK && flag.type == BBR_JSON_BOOL &&
      flag.boolean) {
    bbr_header_pair_t headers[2];
    bbr_reject_t r;
    headers[0].name.data = "retry-after";
    headers[0].name.length = 11;
    headers[0].value.data = "30";
    headers[0].value.length = 2;
    headers[1].name.data = "content-type";
    headers[1].name.length = 12;
    headers[1].value.data = "text/plain";
    headers[1].value.length = 10;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.http_status = 429;
    r.body.data = "slow down";
    r.body.length = 9;
    r.headers = headers;
    r.header_count = 2;
    r.details.data = "abi11_rate_limited";
    r.details.length = 18;
    api->reject_with(msg, &r);
  }
  return BBR_CONTINUE;
}

/* One SSE event: "drop" events go, every other gets a note event after it. */
static bbr_result_t process_response_event(void* instance, bbr_message_t* msg) {
  instance_t* self = (instance_t*)instance;
  bbr_buffer_t body;
  if (self->api->get_body(msg, &body) != BBR_OK) return BBR_CONTINUE;
  if (body.length == 4 && memcmp(body.data, "drop", 4) == 0) {
    self->api->event_drop(msg);
  } else {
    self->api->event_add(msg, "abi11", 5, "seen", 4);
  }
  return BBR_CONTINUE;
}

static const bbr_plugin_type_t the_type = {sizeof(bbr_plugin_type_t),
                                           "abi-test-1-1",
                                           "1.1.0",
                                           "ABI 1.1 test plugin: uses every 1.1 call",
                                           BBR_CAP_REQUEST | BBR_CAP_RESPONSE_EVENT,
                                           NULL,
                                           create,
                                           destroy,
                                           process_request,
                                           NULL,
                                           NULL,
                                           process_response_event};
static const bbr_plugin_type_t* const types[] = {&the_type};
static const bbr_plugin_library_t library = {sizeof(bbr_plugin_library_t), BBR_ABI_MAJOR,
                                             BBR_ABI_MINOR, 1, types};

BBR_PLUGIN_EXPORT const bbr_plugin_library_t* bbr_plugin_entry_v1(const bbr_host_info_t* host) {
  /* Needs 1.1: a 1.0 host's table has none of the calls used above. */
  if (host == NULL || host->abi_major != BBR_ABI_MAJOR || host->abi_minor < 1) return NULL;
  return &library;
}
