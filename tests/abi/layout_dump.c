/* The ABI baseline check: prints the size and offset of every boundary struct
 * field, every function-table slot and every constant of <bbr/plugin.h>, and
 * compares the lines with the checked-in baseline (tests/abi/baseline/).
 * Any difference fails: an accidental change to ABI 1.0 cannot pass ctest.
 * The lines come in sections, one per minor version, each only ever appended
 * to: the 1.0 section prints a struct that 1.1 grew with its 1.0 size (where
 * its first 1.1 member starts), so the 1.0 baseline stays an exact prefix of
 * every later layout; the 1.1 section then gives the grown sizes, the
 * appended members, the new structs and the new constants.
 *
 * Usage: abi_layout_dump [--prefix] [BASELINE]   (no baseline: print the
 * layout; --prefix: the baseline must be the start of the layout, e.g. the
 * 1.0 baseline against a 1.1 header) */
#include <bbr/plugin.h>

#include <stdio.h>
#include <string.h>

#define MAX_LINES 512
#define LINE_LENGTH 160

static char lines[MAX_LINES][LINE_LENGTH];
static int line_count = 0;

static void add(const char* kind, const char* name, unsigned long a, unsigned long b) {
  if (line_count < MAX_LINES) {
    snprintf(lines[line_count++], LINE_LENGTH, "%s %s %lu %lu", kind, name, a, b);
  }
}

#define SIZE(type) add("size", #type, (unsigned long)sizeof(type), 0)
#define FIELD(type, field)                                             \
  add("field", #type "." #field, (unsigned long)offsetof(type, field), \
      (unsigned long)sizeof(((type*)0)->field))
#define CONST(name) add("const", #name, (unsigned long)(name), 0)
/* A struct's size as of ABI 1.0: where its first 1.1 member starts. */
#define SIZE_UNTIL(type, first_newer_field) \
  add("size", #type, (unsigned long)offsetof(type, first_newer_field), 0)
#define SIZE_AT(type, version) add("size", #type "@" version, (unsigned long)sizeof(type), 0)

static void collect(void) {
  SIZE(bbr_status_t);
  SIZE(bbr_result_t);
  SIZE(bbr_log_level_t);
  SIZE(bbr_phase_t);
  SIZE(bbr_json_type_t);
  SIZE(bbr_plugin_entry_fn);

  SIZE(bbr_buffer_t);
  FIELD(bbr_buffer_t, data);
  FIELD(bbr_buffer_t, length);

  SIZE(bbr_json_value_t);
  FIELD(bbr_json_value_t, struct_size);
  FIELD(bbr_json_value_t, type);
  FIELD(bbr_json_value_t, boolean);
  FIELD(bbr_json_value_t, integer);
  FIELD(bbr_json_value_t, number);
  FIELD(bbr_json_value_t, string);
  FIELD(bbr_json_value_t, size);

  SIZE_UNTIL(bbr_host_api_t, message_info);
  FIELD(bbr_host_api_t, struct_size);
  FIELD(bbr_host_api_t, abi_major);
  FIELD(bbr_host_api_t, abi_minor);
  FIELD(bbr_host_api_t, phase);
  FIELD(bbr_host_api_t, get_header);
  FIELD(bbr_host_api_t, header_count);
  FIELD(bbr_host_api_t, header_at);
  FIELD(bbr_host_api_t, set_header);
  FIELD(bbr_host_api_t, remove_header);
  FIELD(bbr_host_api_t, get_body);
  FIELD(bbr_host_api_t, json_get);
  FIELD(bbr_host_api_t, json_get_text);
  FIELD(bbr_host_api_t, json_member_name);
  FIELD(bbr_host_api_t, json_set);
  FIELD(bbr_host_api_t, json_remove);
  FIELD(bbr_host_api_t, replace_body);
  FIELD(bbr_host_api_t, reject);
  FIELD(bbr_host_api_t, set_error);
  FIELD(bbr_host_api_t, state_put);
  FIELD(bbr_host_api_t, state_get);
  FIELD(bbr_host_api_t, log_enabled);
  FIELD(bbr_host_api_t, log);
  FIELD(bbr_host_api_t, counter_add);
  FIELD(bbr_host_api_t, parameter_get);

  SIZE(bbr_create_args_t);
  FIELD(bbr_create_args_t, struct_size);
  FIELD(bbr_create_args_t, api);
  FIELD(bbr_create_args_t, context);
  FIELD(bbr_create_args_t, instance_name);
  FIELD(bbr_create_args_t, parameters_json);
  FIELD(bbr_create_args_t, error);
  FIELD(bbr_create_args_t, error_capacity);

  SIZE_UNTIL(bbr_plugin_type_t, process_response_chunk);
  FIELD(bbr_plugin_type_t, struct_size);
  FIELD(bbr_plugin_type_t, name);
  FIELD(bbr_plugin_type_t, version);
  FIELD(bbr_plugin_type_t, description);
  FIELD(bbr_plugin_type_t, capabilities);
  FIELD(bbr_plugin_type_t, parameters_schema);
  FIELD(bbr_plugin_type_t, create);
  FIELD(bbr_plugin_type_t, destroy);
  FIELD(bbr_plugin_type_t, process_request);
  FIELD(bbr_plugin_type_t, process_response);

  SIZE(bbr_plugin_library_t);
  FIELD(bbr_plugin_library_t, struct_size);
  FIELD(bbr_plugin_library_t, abi_major);
  FIELD(bbr_plugin_library_t, abi_minor);
  FIELD(bbr_plugin_library_t, type_count);
  FIELD(bbr_plugin_library_t, types);

  SIZE(bbr_host_info_t);
  FIELD(bbr_host_info_t, struct_size);
  FIELD(bbr_host_info_t, abi_major);
  FIELD(bbr_host_info_t, abi_minor);
  FIELD(bbr_host_info_t, host_version);

  CONST(BBR_ABI_MAJOR);
  CONST(BBR_OK);
  CONST(BBR_NOT_FOUND);
  CONST(BBR_WRONG_TYPE);
  CONST(BBR_INVALID_ARGUMENT);
  CONST(BBR_NOT_JSON);
  CONST(BBR_UNSUPPORTED);
  CONST(BBR_INTERNAL);
  CONST(BBR_CONTINUE);
  CONST(BBR_FAIL_BAD_REQUEST);
  CONST(BBR_FAIL_UNAUTHORIZED);
  CONST(BBR_FAIL_FORBIDDEN);
  CONST(BBR_FAIL_NOT_FOUND);
  CONST(BBR_FAIL_TOO_MANY_REQUESTS);
  CONST(BBR_FAIL_INTERNAL);
  CONST(BBR_FAIL_UNAVAILABLE);
  CONST(BBR_CAP_REQUEST);
  CONST(BBR_CAP_RESPONSE);
  CONST(BBR_CAP_THREAD_SAFE);
  CONST(BBR_LOG_ERROR);
  CONST(BBR_LOG_WARN);
  CONST(BBR_LOG_INFO);
  CONST(BBR_LOG_DEBUG);
  CONST(BBR_LOG_TRACE);
  CONST(BBR_PHASE_REQUEST);
  CONST(BBR_PHASE_RESPONSE);
  CONST(BBR_JSON_NULL);
  CONST(BBR_JSON_BOOL);
  CONST(BBR_JSON_INTEGER);
  CONST(BBR_JSON_NUMBER);
  CONST(BBR_JSON_STRING);
  CONST(BBR_JSON_ARRAY);
  CONST(BBR_JSON_OBJECT);

  /* ---- ABI 1.1 ---- */
  SIZE_AT(bbr_host_api_t, "1.1");
  FIELD(bbr_host_api_t, message_info);
  FIELD(bbr_host_api_t, json_for_each);
  FIELD(bbr_host_api_t, json_set_string);
  FIELD(bbr_host_api_t, json_set_integer);
  FIELD(bbr_host_api_t, json_set_number);
  FIELD(bbr_host_api_t, json_set_bool);
  FIELD(bbr_host_api_t, prompt_text);
  FIELD(bbr_host_api_t, reject_with);
  FIELD(bbr_host_api_t, set_dynamic_metadata);
  FIELD(bbr_host_api_t, set_route_cache);
  FIELD(bbr_host_api_t, get_attribute);
  FIELD(bbr_host_api_t, get_metadata);
  FIELD(bbr_host_api_t, event_drop);
  FIELD(bbr_host_api_t, event_add);
  FIELD(bbr_host_api_t, metric_define);
  FIELD(bbr_host_api_t, metric_add);
  FIELD(bbr_host_api_t, metric_observe);
  FIELD(bbr_host_api_t, parameter_for_each);

  SIZE_AT(bbr_plugin_type_t, "1.1");
  FIELD(bbr_plugin_type_t, process_response_chunk);
  FIELD(bbr_plugin_type_t, process_response_event);

  SIZE(bbr_body_unit_t);
  SIZE(bbr_route_cache_t);
  SIZE(bbr_metric_kind_t);
  SIZE(bbr_json_visit_fn);

  SIZE(bbr_message_info_t);
  FIELD(bbr_message_info_t, struct_size);
  FIELD(bbr_message_info_t, unit);
  FIELD(bbr_message_info_t, sequence);
  FIELD(bbr_message_info_t, end_of_stream);
  FIELD(bbr_message_info_t, sse_done);
  FIELD(bbr_message_info_t, request_path);
  FIELD(bbr_message_info_t, event_name);
  FIELD(bbr_message_info_t, event_id);

  SIZE(bbr_json_entry_t);
  FIELD(bbr_json_entry_t, struct_size);
  FIELD(bbr_json_entry_t, index);
  FIELD(bbr_json_entry_t, name);
  FIELD(bbr_json_entry_t, pointer);
  FIELD(bbr_json_entry_t, value);

  SIZE(bbr_header_pair_t);
  FIELD(bbr_header_pair_t, name);
  FIELD(bbr_header_pair_t, value);

  SIZE(bbr_reject_t);
  FIELD(bbr_reject_t, struct_size);
  FIELD(bbr_reject_t, http_status);
  FIELD(bbr_reject_t, body);
  FIELD(bbr_reject_t, headers);
  FIELD(bbr_reject_t, header_count);
  FIELD(bbr_reject_t, details);

  SIZE(bbr_metric_def_t);
  FIELD(bbr_metric_def_t, struct_size);
  FIELD(bbr_metric_def_t, kind);
  FIELD(bbr_metric_def_t, name);
  FIELD(bbr_metric_def_t, help);
  FIELD(bbr_metric_def_t, label_name);
  FIELD(bbr_metric_def_t, buckets);
  FIELD(bbr_metric_def_t, bucket_count);

  CONST(BBR_CAP_RESPONSE_CHUNK);
  CONST(BBR_CAP_RESPONSE_EVENT);
  CONST(BBR_BODY_WHOLE);
  CONST(BBR_BODY_CHUNK);
  CONST(BBR_BODY_SSE_EVENT);
  CONST(BBR_BODY_STREAM_END);
  CONST(BBR_ROUTE_CACHE_DEFAULT);
  CONST(BBR_ROUTE_CACHE_CLEAR);
  CONST(BBR_ROUTE_CACHE_KEEP);
  CONST(BBR_METRIC_COUNTER);
  CONST(BBR_METRIC_HISTOGRAM);
}

int main(int argc, char** argv) {
  FILE* baseline;
  char line[LINE_LENGTH];
  int i = 0, differences = 0, prefix = 0;
  const char* path;
  collect();
  if (argc >= 2 && strcmp(argv[1], "--prefix") == 0) {
    prefix = 1;
    --argc;
    ++argv;
  }
  if (argc < 2) {
    for (i = 0; i < line_count; ++i) printf("%s\n", lines[i]);
    return 0;
  }
  path = argv[1];
  baseline = fopen(path, "r");
  if (baseline == NULL) {
    fprintf(stderr, "cannot read the ABI baseline %s\n", path);
    return 2;
  }
  while (fgets(line, sizeof line, baseline) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0] == '#' || line[0] == '\0') continue;
    if (i >= line_count) {
      fprintf(stderr, "missing from the header: %s\n", line);
      ++differences;
    } else if (strcmp(line, lines[i]) != 0) {
      fprintf(stderr, "ABI changed: baseline '%s', header '%s'\n", line, lines[i]);
      ++differences;
    }
    ++i;
  }
  fclose(baseline);
  if (prefix && differences == 0) {
    printf("ABI layout starts with %s (%d of %d lines)\n", path, i, line_count);
    return 0;
  }
  for (; i < line_count; ++i) {
    fprintf(stderr, "not in the baseline: %s\n", lines[i]);
    ++differences;
  }
  if (differences != 0) {
    fprintf(stderr,
            "%d difference(s) from %s. An ABI 1.x change may only append: if that is what\n"
            "you did, append the new lines to the baseline (abi_layout_dump prints them).\n",
            differences, path);
    return 1;
  }
  printf("ABI layout matches %s (%d lines)\n", path, line_count);
  return 0;
}
