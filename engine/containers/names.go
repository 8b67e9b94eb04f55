package containers

import (
	"crypto/rand"
	"math/big"
	"regexp"
)

// validName is Docker's rule for container names.
var validName = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// Word lists for generated names ("adjective_surname"), in Docker's style.
var (
	nameLeft = []string{
		"admiring", "adoring", "affectionate", "agitated", "amazing", "angry", "awesome",
		"beautiful", "blissful", "bold", "boring", "brave", "busy", "charming", "clever",
		"compassionate", "competent", "condescending", "confident", "cool", "cranky", "crazy",
		"dazzling", "determined", "distracted", "dreamy", "eager", "ecstatic", "elastic",
		"elated", "elegant", "eloquent", "epic", "exciting", "fervent", "festive", "flamboyant",
		"focused", "friendly", "frosty", "funny", "gallant", "gifted", "goofy", "gracious",
		"great", "happy", "hardcore", "heuristic", "hopeful", "hungry", "infallible", "inspiring",
		"intelligent", "interesting", "jolly", "jovial", "keen", "kind", "laughing", "loving",
		"lucid", "magical", "modest", "musing", "mystifying", "naughty", "nervous", "nice",
		"nifty", "nostalgic", "objective", "optimistic", "peaceful", "pedantic", "pensive",
		"practical", "priceless", "quirky", "quizzical", "recursing", "relaxed", "reverent",
		"romantic", "sad", "serene", "sharp", "silly", "sleepy", "stoic", "strange", "stupefied",
		"suspicious", "sweet", "tender", "thirsty", "trusting", "unruffled", "upbeat", "vibrant",
		"vigilant", "vigorous", "wizardly", "wonderful", "xenodochial", "youthful", "zealous", "zen",
	}
	nameRight = []string{
		"agnesi", "albattani", "allen", "archimedes", "ardinghelli", "aryabhata", "babbage",
		"banach", "bardeen", "bartik", "bassi", "bell", "bhabha", "bhaskara", "blackwell",
		"bohr", "booth", "borg", "bose", "boyd", "brahmagupta", "brattain", "brown", "carson",
		"cerf", "chandrasekhar", "clarke", "colden", "cori", "cray", "curie", "darwin",
		"davinci", "dijkstra", "dirac", "driscoll", "dubinsky", "easley", "edison", "einstein",
		"elion", "engelbart", "euclid", "euler", "faraday", "fermat", "fermi", "feynman",
		"franklin", "galileo", "gates", "goldberg", "goldstine", "goldwasser", "goodall",
		"haibt", "hamilton", "hawking", "heisenberg", "hermann", "hodgkin", "hofstadter",
		"hopper", "hypatia", "jackson", "jang", "jennings", "jepsen", "johnson", "joliot",
		"kalam", "kapitsa", "keldysh", "kepler", "khorana", "kilby", "knuth", "kowalevski",
		"lalande", "lamarr", "lamport", "leakey", "leavitt", "lehmann", "liskov", "lovelace",
		"lumiere", "mahavira", "margulis", "matsumoto", "maxwell", "mayer", "mccarthy",
		"mcclintock", "meitner", "mendel", "merkle", "minsky", "mirzakhani", "montalcini",
		"morse", "napier", "nash", "neumann", "newton", "nightingale", "nobel", "noether",
		"northcutt", "noyce", "panini", "pare", "pascal", "pasteur", "perlman", "pike",
		"poincare", "ptolemy", "raman", "ramanujan", "ride", "ritchie", "roentgen", "rosalind",
		"saha", "sammet", "shamir", "shannon", "shaw", "shockley", "sinoussi", "snyder",
		"spence", "stonebraker", "swanson", "swartz", "tesla", "thompson", "torvalds", "turing",
		"varahamihira", "villani", "volhard", "wescoff", "wiles", "williams", "wilson", "wing",
		"wozniak", "wright", "yalow", "yonath", "zhukovsky",
	}
)

func pick(list []string) string {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(list))))
	if err != nil {
		return list[0]
	}
	return list[n.Int64()]
}

// generateName returns a free "adjective_surname" name; taken is called
// with the lock held by the caller.
func generateName(taken func(string) bool) string {
	for i := 0; i < 10; i++ {
		n := pick(nameLeft) + "_" + pick(nameRight)
		if i > 0 {
			n += string(rune('0' + i))
		}
		if !taken(n) {
			return n
		}
	}
	// Extremely unlikely: fall back to a random suffix.
	for {
		n, _ := rand.Int(rand.Reader, big.NewInt(1<<30))
		name := pick(nameLeft) + "_" + pick(nameRight) + "_" + n.String()
		if !taken(name) {
			return name
		}
	}
}
