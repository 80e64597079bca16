/**
 * Finding Java and a ZooKeeper install: JAVA_HOME or PATH for java; ZOOKEEPER_HOME (an Apache
 * release), /usr/share/zookeeper, or Debian's /usr/share/java layout for the jars. Used by the
 * local cluster launcher and the test harness.
 */
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const ZOOKEEPER_INSTALL_HINT = 'apt-get install -y zookeeper default-jre-headless';

export function findExecutable(name: string, dirs: string[]): string | undefined {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function pathDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.PATH ?? '').split(delimiter).filter((d) => d !== '');
}

export interface ZooKeeperInstall {
  java: string;
  /** Classpath entries for the server and a logging backend (the config dir goes in front). */
  classpath: string[];
}

function missing(what: string): Error {
  return new Error(`${what}. Install Java and ZooKeeper with: ${ZOOKEEPER_INSTALL_HINT} (or set JAVA_HOME, and ZOOKEEPER_HOME to an unpacked Apache ZooKeeper release)`);
}

function findJava(env: NodeJS.ProcessEnv): string {
  if (env.JAVA_HOME) {
    const java = findExecutable('java', [join(env.JAVA_HOME, 'bin')]);
    if (java) return java;
  }
  const java = findExecutable('java', pathDirs(env));
  if (java) return java;
  throw missing(`no java executable found (looked in ${env.JAVA_HOME ? `JAVA_HOME/bin=${join(env.JAVA_HOME, 'bin')} and ` : ''}PATH)`);
}

function hasZooKeeperJar(dir: string): boolean {
  try {
    return readdirSync(dir).some((f) => /^zookeeper-\d[\w.-]*\.jar$/.test(f) && !f.includes('jute'));
  } catch {
    return false;
  }
}

/** An Apache release layout: everything, logging backend included, in <home>/lib. */
function releaseClasspath(home: string): string[] | undefined {
  const dirs = [join(home, 'lib'), home].filter(hasZooKeeperJar);
  if (dirs.length === 0) return undefined;
  return [...new Set([join(home, 'lib'), home])].filter((d) => existsSync(d)).map((d) => join(d, '*'));
}

/**
 * Debian's layout: /usr/share/java/zookeeper.jar names its dependencies in its manifest's
 * Class-Path, except an SLF4J binding. We add exactly one (log4j 1.2, as Debian's package uses):
 * `/usr/share/java/*` would pull in several bindings (simple, nop, jdk14, log4j12, maven's).
 */
function debianClasspath(javaDir: string): string[] | undefined {
  const jar = join(javaDir, 'zookeeper.jar');
  if (!existsSync(jar)) return undefined;
  const logging = ['slf4j-log4j12.jar', 'log4j-1.2.jar'].map((f) => join(javaDir, f));
  return [jar, ...(logging.every((f) => existsSync(f)) ? logging : [])];
}

/** Finds java and the ZooKeeper jars, or throws an Error saying what to install. */
export function findZooKeeperInstall(env: NodeJS.ProcessEnv = process.env): ZooKeeperInstall {
  const java = findJava(env);
  if (env.ZOOKEEPER_HOME) {
    const classpath = releaseClasspath(env.ZOOKEEPER_HOME);
    if (!classpath) throw missing(`ZOOKEEPER_HOME=${env.ZOOKEEPER_HOME} holds no zookeeper-<version>.jar (looked in it and its lib/)`);
    return { java, classpath };
  }
  const classpath = releaseClasspath('/usr/share/zookeeper') ?? debianClasspath('/usr/share/java');
  if (!classpath) throw missing('ZooKeeper jars not found (looked for /usr/share/zookeeper/lib/zookeeper-*.jar and /usr/share/java/zookeeper.jar; ZOOKEEPER_HOME is not set)');
  return { java, classpath };
}
