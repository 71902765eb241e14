// ESM entry of ffi/dlopen: the same module object as require('ffi/dlopen'),
// with named exports (the RTLD_* flags are undefined where the platform
// has none).
import dl from './dlopen.js'

export default dl
export const { extension, dlopen, dlsym, dlclose, dlerror, RTLD_LAZY, RTLD_NOW, RTLD_GLOBAL, RTLD_LOCAL, RTLD_NOLOAD, RTLD_NODELETE } = dl
