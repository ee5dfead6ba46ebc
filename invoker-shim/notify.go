package invokershim

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/epilogue-dev/epilogue/completion"
)

// maxEventBody caps a pushed event; one is a few hundred bytes.
const maxEventBody = 64 << 10

// event receives a runtime's pushed event. Only an event signed with the
// token of the instance it names is accepted; it then wakes the waits on
// that container (which still confirm with a fresh status before acting,
// so an event can hasten a reclaim but never cause an unsafe one).
func (s *Shim) event(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxEventBody+1))
	if err != nil || len(body) > maxEventBody {
		http.Error(w, "epilogue-shim: an event is at most 64 KiB", http.StatusRequestEntityTooLarge)
		return
	}
	var ev completion.Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.Instance == "" {
		s.log.Warn("rejected an event that is not a completion event", "from", r.RemoteAddr)
		http.Error(w, "epilogue-shim: not a completion event with an instance", http.StatusBadRequest)
		return
	}
	sig := r.Header.Get(completion.SignatureHeader)
	if !completion.Verify([]byte(s.token(ev.Instance)), body, sig) {
		s.log.Warn("rejected an unsigned or wrongly signed event", "from", r.RemoteAddr, "instance", ev.Instance, "signed", sig != "")
		http.Error(w, "epilogue-shim: the event's signature does not match its instance's token", http.StatusUnauthorized)
		return
	}
	c := s.byInstanceLabel(r.Context(), ev.Instance)
	if c == nil {
		w.WriteHeader(http.StatusNoContent) // a container the shim does not know (any more)
		return
	}
	s.log.Debug("event", "container", c.name, "type", ev.Type, "state", ev.State)
	if ev.Type == completion.Quiescent || (ev.Activation != nil && ev.Activation.Phase.Terminal()) {
		c.poke()
	}
	w.WriteHeader(http.StatusNoContent)
}
