package io.ballast.replication.space;

/** Where a node's data disk stands against its {@link DiskWatermarks}. */
public enum DiskLevel {
    NORMAL,
    /** Above the nearfull ratio: a warning, writes go on. */
    NEARFULL,
    /** Above the full ratio: writes that need this node refuse with NO_SPACE. */
    FULL
}
