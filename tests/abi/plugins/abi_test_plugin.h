/* Shared scaffolding for the deliberately broken plugins of tests/abi: one
 * well-formed type whose hooks each plugin file overrides, so every .so differs
 * from a good plugin in exactly the one way its test is about. */
#ifndef ABI_TEST_PLUGIN_H
#define ABI_TEST_PLUGIN_H

#include <bbr/plugin.h>

#include <stdio.h>
#include <string.h>

typedef struct abi_test_instance {
  const bbr_host_api_t* api;
} abi_test_instance_t;

static int abi_test_create(const bbr_create_args_t* args, void** instance_out) {
  static abi_test_instance_t instances[16];
  static unsigned next = 0;
  abi_test_instance_t* self = &instances[next++ % 16];
  self->api = args->api;
  *instance_out = self;
  return 0;
}

static void abi_test_destroy(void* instance) { (void)instance; }

static const bbr_host_api_t* abi_test_api(void* instance) {
  return ((abi_test_instance_t*)instance)->api;
}

/* Exports a library of exactly one request type with the given name,
 * description, create and process_request hooks; everything else well-formed. */
#define ABI_TEST_EXPORT_REQUEST_TYPE(type_name, description, create_hook, request_hook)       \
  static const bbr_plugin_type_t the_type = {sizeof(bbr_plugin_type_t),                       \
                                             type_name,                                       \
                                             "1.0.0",                                         \
                                             description,                                     \
                                             BBR_CAP_REQUEST,                                 \
                                             NULL,                                            \
                                             create_hook,                                     \
                                             abi_test_destroy,                                \
                                             request_hook,                                    \
                                             NULL};                                           \
  static const bbr_plugin_type_t* const types[] = {&the_type};                                \
  static const bbr_plugin_library_t library = {sizeof(bbr_plugin_library_t), BBR_ABI_MAJOR,   \
                                               BBR_ABI_MINOR, 1, types};                      \
  BBR_PLUGIN_EXPORT const bbr_plugin_library_t* bbr_plugin_entry_v1(                          \
      const bbr_host_info_t* host) {                                                          \
    (void)host;                                                                               \
    return &library;                                                                          \
  }

#endif
