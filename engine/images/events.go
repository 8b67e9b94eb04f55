package images

import (
	"encoding/json"
)

// EventFunc receives image events in Docker's terms: action is one of pull,
// push, tag, untag, delete, import, load, save; id is what Docker puts in
// Actor.ID (an image ID, or the reference for pull and push); attrs holds
// "name" and the image's labels. It is called after the change is recorded,
// must be fast, and must not call back into the image service.
type EventFunc func(action, id string, attrs map[string]string)

// emit sends one event; name is the "name" attribute. The image's labels
// are added when imageID names a known image. Caller must not hold s.mu.
func (s *Service) emit(action, id, name, imageID string) {
	fn := s.events
	if fn == nil {
		return
	}
	attrs := map[string]string{}
	if imageID != "" {
		s.mu.RLock()
		rec := s.images[imageID]
		s.mu.RUnlock()
		if rec != nil {
			var cfg ConfigFile
			if json.Unmarshal(rec.Config, &cfg) == nil {
				for k, v := range cfg.Config.Labels {
					attrs[k] = v
				}
			}
		}
	}
	attrs["name"] = name
	fn(action, id, attrs)
}
