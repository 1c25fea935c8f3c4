/* One source, many broken libraries: exactly one of the BAD_* macros below is
 * defined per target (tests/abi/CMakeLists.txt), each breaking one rule of the
 * descriptor checks. */
#include "abi_test_plugin.h"

static bbr_result_t pass(void* instance, bbr_message_t* msg) {
  (void)instance;
  (void)msg;
  return BBR_CONTINUE;
}

#if defined(BAD_TYPE_STRUCT_SIZE_ZERO)
#define TYPE_SIZE 0
#else
#define TYPE_SIZE sizeof(bbr_plugin_type_t)
#endif

#if defined(BAD_NULL_CREATE)
#define CREATE NULL
#else
#define CREATE abi_test_create
#endif

#if defined(BAD_NULL_DESTROY)
#define DESTROY NULL
#else
#define DESTROY abi_test_destroy
#endif

#if defined(BAD_REQUEST_CAP_WITHOUT_HOOK)
#define REQUEST_HOOK NULL
#else
#define REQUEST_HOOK pass
#endif

#if defined(BAD_NULL_NAME)
#define TYPE_NAME NULL
#elif defined(BAD_TYPE_NAME)
#define TYPE_NAME "Bad Name!"
#else
#define TYPE_NAME "abi-test-descriptor"
#endif

static const bbr_plugin_type_t the_type = {TYPE_SIZE,       TYPE_NAME, "1.0.0", "broken on purpose",
                                           BBR_CAP_REQUEST, NULL,      CREATE,  DESTROY,
                                           REQUEST_HOOK,    NULL};

#if defined(BAD_DUPLICATE_TYPE_NAMES)
static const bbr_plugin_type_t* const types[] = {&the_type, &the_type};
#define TYPE_COUNT 2
#elif defined(BAD_ZERO_TYPES)
static const bbr_plugin_type_t* const types[] = {&the_type};
#define TYPE_COUNT 0
#else
static const bbr_plugin_type_t* const types[] = {&the_type};
#define TYPE_COUNT 1
#endif

#if defined(BAD_LIBRARY_STRUCT_SIZE_ZERO)
#define LIBRARY_SIZE 0
#else
#define LIBRARY_SIZE sizeof(bbr_plugin_library_t)
#endif

#if defined(BAD_ABI_MAJOR_2)
#define ABI_MAJOR 2
#else
#define ABI_MAJOR BBR_ABI_MAJOR
#endif

static const bbr_plugin_library_t library = {LIBRARY_SIZE, ABI_MAJOR, BBR_ABI_MINOR, TYPE_COUNT,
                                             types};

#if defined(BAD_ENTRY_V2_ONLY)
BBR_PLUGIN_EXPORT const bbr_plugin_library_t* bbr_plugin_entry_v2(const bbr_host_info_t* host) {
  (void)host;
  return &library;
}
#elif defined(BAD_MISSING_ENTRY)
BBR_PLUGIN_EXPORT int some_other_function(void) { return (int)library.type_count; }
#elif defined(BAD_ENTRY_RETURNS_NULL)
BBR_PLUGIN_EXPORT const bbr_plugin_library_t* bbr_plugin_entry_v1(const bbr_host_info_t* host) {
  (void)host;
  return library.type_count == 1 ? NULL : &library;
}
#else
BBR_PLUGIN_EXPORT const bbr_plugin_library_t* bbr_plugin_entry_v1(const bbr_host_info_t* host) {
  (void)host;
  return &library;
}
#endif
