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

/* callJs(fn, n): calls fn(i) n times from C, each call in its own handle
   scope, reading back an int: the least an N-API callback round trip costs. */
static napi_value call_js(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], global, result;
  int32_t n = 0;
  int64_t sum = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_int32(env, argv[1], &n);
  napi_get_global(env, &global);
  for (int32_t i = 0; i < n; i++) {
    napi_handle_scope scope;
    napi_value arg, ret;
    int32_t r = 0;
    napi_open_handle_scope(env, &scope);
    napi_create_int32(env, i, &arg);
    if (napi_call_function(env, global, argv[0], 1, &arg, &ret) == napi_ok) napi_get_value_int32(env, ret, &r);
    sum += r;
    napi_close_handle_scope(env, scope);
  }
  napi_create_int64(env, sum, &result);
  return result;
}

/* callJsBare(fn, n): calls fn() n times from C with no arguments and no
   result read, sharing one handle scope per 64 calls: the least any N-API
   callback costs, whatever carries its values. */
static napi_value call_js_bare(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  int32_t n = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_int32(env, argv[1], &n);
  napi_handle_scope scope = NULL;
  for (int32_t i = 0; i < n; i++) {
    napi_value ret;
    if (i % 64 == 0) {
      if (scope != NULL) napi_close_handle_scope(env, scope);
      napi_open_handle_scope(env, &scope);
    }
    napi_call_function(env, argv[0], argv[0], 0, NULL, &ret);
  }
  if (scope != NULL) napi_close_handle_scope(env, scope);
  napi_create_int32(env, n, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    { "noop", NULL, noop, NULL, NULL, NULL, napi_default, NULL },
    { "absStatic", NULL, abs_static, NULL, NULL, NULL, napi_default, NULL },
    { "fetch4", NULL, fetch4, NULL, NULL, NULL, napi_default, NULL },
    { "callJs", NULL, call_js, NULL, NULL, NULL, napi_default, NULL },
    { "callJsBare", NULL, call_js_bare, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
