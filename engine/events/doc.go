// Package events records what happens in the engine (container, image,
// network, volume and daemon events, in Docker's types and actions) and
// streams it to subscribers. The last events are kept in memory for
// `events --since`.
//
// Callers may rely on: subscribers see events in the order they were logged;
// a subscriber that cannot keep up loses events rather than stalling the
// engine; --since replays only what is still kept in memory.
package events
