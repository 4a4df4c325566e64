package server

// PeerTube's video categories, licences and a few languages, with the
// English labels its REST API and Video objects carry.

var categories = map[int]string{
	1: "Music", 2: "Films", 3: "Vehicles", 4: "Art", 5: "Sports", 6: "Travels", 7: "Gaming",
	8: "People", 9: "Comedy", 10: "Entertainment", 11: "News & Politics", 12: "How To",
	13: "Education", 14: "Activism", 15: "Science & Technology", 16: "Animals", 17: "Kids", 18: "Food",
}

var licences = map[int]string{
	1: "Attribution", 2: "Attribution - Share Alike", 3: "Attribution - No Derivatives",
	4: "Attribution - Non Commercial", 5: "Attribution - Non Commercial - Share Alike",
	6: "Attribution - Non Commercial - No Derivatives", 7: "Public Domain Dedication",
}

var languages = map[string]string{
	"en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
	"nl": "Dutch", "ja": "Japanese", "zh": "Chinese", "ru": "Russian", "ar": "Arabic", "pl": "Polish",
	"sv": "Swedish", "eo": "Esperanto", "ca": "Catalan", "eu": "Basque", "oc": "Occitan",
}

func label(table map[int]string, id int) string {
	if l, ok := table[id]; ok {
		return l
	}
	return "Unknown"
}

func languageLabel(code string) string {
	if l, ok := languages[code]; ok {
		return l
	}
	return code
}
