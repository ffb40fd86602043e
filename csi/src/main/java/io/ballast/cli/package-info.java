/**
 * The {@code ballast} command line (picocli): the {@code node}, {@code controller}, {@code dev},
 * {@code volume} and {@code fd-keeper} verbs. Nothing below depends on it.
 */
package io.ballast.cli;
