/* The floor: N-API functions that do (almost) nothing, to measure every
   contender against the cost of crossing into an addon at all. */
#include <node_api.h>
#include <stdlib.h>

/* Does nothing: the N-API floor. */
static napi_value noop(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  return NULL;
}

/* A hand-written static binding of abs(int): what a C++ addon would do. */
static napi_value abs_static(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int32_t x = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_int32(env, argv[0], &x);
  napi_create_int32(env, abs(x), &result);
  return result;
}

/* Only fetches four Buffers: the cost of a naive four-Buffer call path. */
static napi_value fetch4(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  for (size_t i = 0; i < argc; i++) {
    void *data;
    size_t len;
    napi_get_buffer_info(env, argv[i], &data, &len);
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    { "noop", NULL, noop, NULL, NULL, NULL, napi_default, NULL },
    { "absStatic", NULL, abs_static, NULL, NULL, NULL, napi_default, NULL },
    { "fetch4", NULL, fetch4, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
