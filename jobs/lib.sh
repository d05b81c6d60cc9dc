# Shared by the jobs/ scripts: build when needed, then the JVM flags and classpath of local runs.
# shellcheck shell=bash
NMT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Builds target/classes and target/classpath.txt when they are missing or older than the sources.
nmt_build() {
  local stamp="$NMT_ROOT/target/classpath.txt"
  if [[ ! -f $stamp || -n $(find "$NMT_ROOT/pom.xml" "$NMT_ROOT/src/main" -newer "$stamp" -print -quit 2>/dev/null) ]]; then
    echo "spark-nmt: building (mvn package -DskipTests) ..." >&2
    (cd "$NMT_ROOT" && mvn -q -B -DskipTests package \
      && mvn -q -B dependency:build-classpath -Dmdep.includeScope=compile -Dmdep.outputFile=target/classpath.txt) >&2
  fi
}

# Spark's launcher flags (conf/jvm-options) plus logging; NMT_JAVA_OPTS adds more (e.g. -Xmx8g).
nmt_jvm_flags() {
  grep -v '^#' "$NMT_ROOT/conf/jvm-options" | tr '\n' ' '
  echo "-Dlog4j2.configurationFile=$NMT_ROOT/conf/log4j2.properties ${NMT_JAVA_OPTS:--Xmx6g}"
}

nmt_classpath() {
  echo "$NMT_ROOT/target/classes:$(cat "$NMT_ROOT/target/classpath.txt")"
}

nmt_java() {
  if [[ -n ${JAVA_HOME:-} ]]; then echo "$JAVA_HOME/bin/java"; else echo java; fi
}

# No network call at run time: DJL's SentencePiece binding would call home (EC2 metadata, a
# telemetry bucket) without these; MarianTokenizer sets the same as system properties.
export DJL_OFFLINE=true OPT_OUT_TRACKING=true
