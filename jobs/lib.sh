# Shared by the jobs/ scripts: build when needed, then the JVM flags and classpath of local runs.
# shellcheck shell=bash
NMT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The Spark line to build and run: a Maven profile of pom.xml (default spark-4). Each builds in a
# folder of its own (the pom's nmt.build.dir), so switching lines never rebuilds the other.
NMT_PROFILE=${NMT_SPARK_PROFILE:-spark-4}
case $NMT_PROFILE in
  spark-4)        NMT_TARGET=$NMT_ROOT/target;                NMT_SCALA=2.13 ;;
  spark-3.5_2.13) NMT_TARGET=$NMT_ROOT/target/spark-3.5_2.13; NMT_SCALA=2.13 ;;
  spark-3.5_2.12) NMT_TARGET=$NMT_ROOT/target/spark-3.5_2.12; NMT_SCALA=2.12 ;;
  *) echo "spark-nmt: NMT_SPARK_PROFILE=$NMT_PROFILE is not a profile; use spark-4, spark-3.5_2.13 or spark-3.5_2.12" >&2
     exit 2 ;;
esac

# Builds the line's classes, slim jar and classpath.txt when missing or older than the sources.
# The slim jar is the stamp: every `mvn package` rewrites it (classpath.txt keeps its old time
# when its content is unchanged), and package also writes classpath.txt (pom.xml).
nmt_build() {
  local jars=("$NMT_TARGET"/spark-nmt-spark*_"$NMT_SCALA"-*.jar)
  local stamp=${jars[0]}
  if [[ ! -f $stamp || ! -f $NMT_TARGET/classpath.txt \
        || -n $(find "$NMT_ROOT/pom.xml" "$NMT_ROOT/src/main" -newer "$stamp" -print -quit 2>/dev/null) ]]; then
    echo "spark-nmt: building $NMT_PROFILE (mvn -P$NMT_PROFILE package -DskipTests) ..." >&2
    # package writes classpath.txt too (pom.xml, jobs-classpath); the touch makes the jar the stamp
    # even where the jar plugin found nothing to rewrite
    (cd "$NMT_ROOT" && mvn -q -B "-P$NMT_PROFILE" -DskipTests package) >&2
    touch "$NMT_TARGET"/spark-nmt-spark*_"$NMT_SCALA"-*.jar
  fi
}

# The line's slim application jar (what spark-submit takes; mvn install publishes it).
nmt_app_jar() {
  local jars=("$NMT_TARGET"/spark-nmt-spark*_"$NMT_SCALA"-*.jar)
  [[ -f ${jars[0]} ]] || { echo "spark-nmt: no slim jar in $NMT_TARGET" >&2; return 1; }
  echo "${jars[0]}"
}

# Spark's launcher flags (conf/jvm-options) plus logging; NMT_JAVA_OPTS adds more (e.g. -Xmx8g).
nmt_jvm_flags() {
  grep -v '^#' "$NMT_ROOT/conf/jvm-options" | tr '\n' ' '
  echo "-Dlog4j2.configurationFile=$NMT_ROOT/conf/log4j2.properties ${NMT_JAVA_OPTS:--Xmx6g}"
}

nmt_classpath() {
  echo "$NMT_TARGET/classes:$(cat "$NMT_TARGET/classpath.txt")"
}

nmt_java() {
  if [[ -n ${JAVA_HOME:-} ]]; then echo "$JAVA_HOME/bin/java"; else echo java; fi
}

# No network call at run time: DJL's SentencePiece binding would call home (EC2 metadata, a
# telemetry bucket) without these; MarianTokenizer sets the same as system properties.
export DJL_OFFLINE=true OPT_OUT_TRACKING=true
