# Shared by bench/run, bench/profile and bench/job; source it after jobs/lib.sh.

# bench_classes DIR: compiles the bench package into DIR (emptied first) and prints the class path
# that runs it. Only the bench package is compiled (test scope, outside the main jar), so a
# benchmark does not depend on the rest of the test tree compiling. Call nmt_build first.
bench_classes() {
  local dir=$1 javac=javac
  [[ -n ${JAVA_HOME:-} ]] && javac=$JAVA_HOME/bin/javac
  rm -rf "$dir"
  mkdir -p "$dir"
  "$javac" -nowarn --release 17 --add-modules jdk.incubator.vector -d "$dir" -cp "$(nmt_classpath)" \
    "$NMT_ROOT"/src/test/java/io/sparknmt/bench/*.java 2> >(grep -v -e 'incubat' -e '^[0-9]* warning' >&2)
  echo "$dir:$(nmt_classpath)"
}

# openblas_info: "<build config>, core <kernels>" of the OpenBLAS that torch loads, or "?".
# Uses $PY (default /usr/bin/python3).
openblas_info() {
  "${PY:-/usr/bin/python3}" - <<'PY' 2>/dev/null || echo '?'
import ctypes
import torch  # noqa: F401  (loads the BLAS torch links)
try:
    lib = ctypes.CDLL("libopenblas.so.0")
    lib.openblas_get_config.restype = ctypes.c_char_p
    lib.openblas_get_corename.restype = ctypes.c_char_p
    print(lib.openblas_get_config().decode().strip() + ", core " + lib.openblas_get_corename().decode())
except OSError:
    print("?")
PY
}
