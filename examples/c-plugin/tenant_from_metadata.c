/*
 * tenant-from-metadata: copies the request body's /metadata/tenant string into
 * a request header (default x-tenant), so a route can pick a backend per tenant.
 * When the answer is a Server-Sent Events stream, it ends the stream with one
 * more event naming the tenant (`event: bbr-tenant`, `data: {"tenant":"acme"}`),
 * added at the end of the stream by the event hook.
 *
 * Plain C99 against bbr/plugin.h alone: the whole contract between a plugin
 * and bbr-host. Uses ABI 1.1 (parameter defaults filled in by the host, a
 * counter defined once at create and counted by id), so it refuses a 1.0
 * host at load.
 *
 * Parameters (optional JSON object): {"headerName": "x-tenant"}
 */
#include <bbr/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_HEADER "x-tenant"
#define TENANT_POINTER "/metadata/tenant"
#define MAX_HEADER_NAME 128
#define SET_COUNTER "tenant_header_set_total"
#define STATE_KEY "tenant-json" /* the tenant as JSON text, for the response */
#define TRAILER_EVENT "bbr-tenant"

typedef struct tenant_plugin {
  const bbr_host_api_t *api;
  const bbr_plugin_context_t *context;
  char header_name[MAX_HEADER_NAME];
  uint32_t set_counter; /* id from metric_define */
} tenant_plugin_t;

static void write_error(const bbr_create_args_t *args, const char *text) {
  if (args->error != NULL && args->error_capacity > 0) {
    snprintf(args->error, args->error_capacity, "%s", text);
  }
}

/* Reads the "headerName" parameter. The host parsed the parameters once,
 * checked them against the schema below and filled in its default: a typed
 * lookup by JSON Pointer is all a C plugin needs, no JSON parser of its own.
 * (BBR_NOT_FOUND cannot happen on a 1.1 host; the fallback costs nothing.) */
static int read_header_name(const bbr_create_args_t *args, char *out, size_t capacity) {
  bbr_json_value_t value;
  bbr_status_t status;
  memset(&value, 0, sizeof(value));
  value.struct_size = sizeof(value);
  if (!BBR_HAS_FIELD(args->api, bbr_host_api_t, parameter_get)) {
    write_error(args, "this host is too old: it has no parameter_get");
    return -1;
  }
  status = args->api->parameter_get(args->context, "/headerName", strlen("/headerName"), &value);
  if (status == BBR_NOT_FOUND) {
    snprintf(out, capacity, "%s", DEFAULT_HEADER);
    return 0;
  }
  if (status != BBR_OK || value.type != BBR_JSON_STRING) {
    write_error(args, "headerName: must be a string");
    return -1;
  }
  if (value.string.length == 0) {
    write_error(args, "headerName: must not be empty");
    return -1;
  }
  if (value.string.length >= capacity) {
    write_error(args, "headerName: too long");
    return -1;
  }
  memcpy(out, value.string.data, value.string.length);
  out[value.string.length] = '\0';
  return 0;
}

static int tenant_create(const bbr_create_args_t *args, void **instance_out) {
  tenant_plugin_t *plugin = (tenant_plugin_t *)calloc(1, sizeof(*plugin));
  if (plugin == NULL) {
    write_error(args, "out of memory");
    return 1;
  }
  plugin->api = args->api;
  plugin->context = args->context;
  if (read_header_name(args, plugin->header_name, sizeof(plugin->header_name)) != 0) {
    free(plugin);
    return 1;
  }
  {
    /* Defined once here and counted by id per request: no lookup by name on
     * the hot path. The host adds the plugin_name label. */
    bbr_metric_def_t def;
    memset(&def, 0, sizeof(def));
    def.struct_size = sizeof(def);
    def.kind = BBR_METRIC_COUNTER;
    def.name.data = SET_COUNTER;
    def.name.length = strlen(SET_COUNTER);
    def.help.data = "Requests that got the tenant header";
    def.help.length = strlen(def.help.data);
    if (args->api->metric_define(args->context, &def, &plugin->set_counter) != BBR_OK) {
      write_error(args, "cannot define " SET_COUNTER);
      free(plugin);
      return 1;
    }
  }
  *instance_out = plugin;
  return 0;
}

static void tenant_destroy(void *instance) { free(instance); }

static bbr_result_t tenant_process_request(void *instance, bbr_message_t *msg) {
  tenant_plugin_t *plugin = (tenant_plugin_t *)instance;
  bbr_json_value_t tenant;
  bbr_status_t status;
  memset(&tenant, 0, sizeof(tenant));
  tenant.struct_size = sizeof(tenant);
  status = plugin->api->json_get(msg, TENANT_POINTER, strlen(TENANT_POINTER), &tenant);
  if (status != BBR_OK || tenant.type != BBR_JSON_STRING || tenant.string.length == 0) {
    /* No tenant: leave the request as it is. */
    return BBR_CONTINUE;
  }
  status = plugin->api->set_header(msg, plugin->header_name, strlen(plugin->header_name),
                                   tenant.string.data, tenant.string.length);
  if (status == BBR_INVALID_ARGUMENT) {
    const char *text = "metadata.tenant cannot be a header value";
    plugin->api->set_error(msg, text, strlen(text));
    return BBR_FAIL_BAD_REQUEST;
  }
  plugin->api->metric_add(plugin->context, plugin->set_counter, NULL, 0, 1);

  /* Kept for the response: the tenant as JSON text (quoted and escaped by the
   * host), owned by the host from here on and freed with the request. */
  {
    bbr_buffer_t text;
    char *copy;
    if (plugin->api->json_get_text(msg, TENANT_POINTER, strlen(TENANT_POINTER), &text) != BBR_OK) {
      return BBR_CONTINUE;
    }
    copy = (char *)malloc(text.length + 1);
    if (copy == NULL) return BBR_CONTINUE;
    memcpy(copy, text.data, text.length);
    copy[text.length] = '\0';
    if (plugin->api->state_put(msg, STATE_KEY, strlen(STATE_KEY), copy, free) != BBR_OK) free(copy);
  }
  return BBR_CONTINUE;
}

/* Called once per SSE event of the response, then once more at the end of the
 * stream (unit BBR_BODY_STREAM_END): there it adds the tenant event. */
static bbr_result_t tenant_process_event(void *instance, bbr_message_t *msg) {
  tenant_plugin_t *plugin = (tenant_plugin_t *)instance;
  bbr_message_info_t info;
  void *tenant_json = NULL;
  char data[MAX_HEADER_NAME + 512];
  int length;
  memset(&info, 0, sizeof(info));
  info.struct_size = sizeof(info);
  if (plugin->api->message_info(msg, &info) != BBR_OK || info.unit != BBR_BODY_STREAM_END) {
    return BBR_CONTINUE; /* the events themselves go on unchanged */
  }
  if (plugin->api->state_get(msg, STATE_KEY, strlen(STATE_KEY), &tenant_json) != BBR_OK) {
    return BBR_CONTINUE; /* no tenant in the request */
  }
  length = snprintf(data, sizeof(data), "{\"tenant\":%s}", (const char *)tenant_json);
  if (length < 0 || (size_t)length >= sizeof(data)) return BBR_CONTINUE; /* too long to tag */
  plugin->api->event_add(msg, TRAILER_EVENT, strlen(TRAILER_EVENT), data, (size_t)length);
  return BBR_CONTINUE;
}

/* Designated initializers: later ABI minors append members to this struct, and
 * a positional list would then leave them out (-Wmissing-field-initializers);
 * members not named here are zero, which the host reads as "not provided". */
static const bbr_plugin_type_t tenant_type = {
    .struct_size = sizeof(bbr_plugin_type_t),
    .name = "tenant-from-metadata",
    .version = "1.1.0",
    .description = "Copies the body's metadata.tenant into a request header (default x-tenant)",
    .capabilities = BBR_CAP_REQUEST | BBR_CAP_RESPONSE_EVENT | BBR_CAP_THREAD_SAFE,
    .parameters_schema =
        "{\"type\":\"object\",\"properties\":{\"headerName\":{\"type\":\"string\","
        "\"minLength\":1,\"default\":\"x-tenant\"}}}",
    .create = tenant_create,
    .destroy = tenant_destroy,
    .process_request = tenant_process_request,
    .process_response_event = tenant_process_event,
};

static const bbr_plugin_type_t *const plugin_types[] = {&tenant_type};

static const bbr_plugin_library_t plugin_library = {
    .struct_size = sizeof(bbr_plugin_library_t),
    .abi_major = BBR_ABI_MAJOR,
    .abi_minor = BBR_ABI_MINOR,
    .type_count = 1,
    .types = plugin_types,
};

BBR_PLUGIN_EXPORT const bbr_plugin_library_t *bbr_plugin_entry_v1(const bbr_host_info_t *host) {
  /* metric_define and the filled-in defaults are ABI 1.1: refuse an older host. */
  if (host == NULL || host->abi_major != BBR_ABI_MAJOR || host->abi_minor < 1) return NULL;
  return &plugin_library;
}
