package io.ballast.daemon;

/** A volume the node should have: created at start when absent. */
public record VolumeSpec(String name, long sizeBytes) {
}
