package pages

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// text is every string the pages show, in one language. A struct rather
// than a map, so that a language missing a string does not compile.
type text struct {
	LanguageNav string

	RequestTitle, RequestIntro, IdentifierLabel, SendCode string

	SentTitle, SentEmail, SentSMS, SentNext, ContinueReset string

	ResetTitle, ResetIntro, UsernameLabel, CodeLabel, PasswordLabel, SetPassword, NewCode string

	RulesIntro, RuleMin, RuleMax, RuleUpper, RuleLower, RuleDigit, RuleSymbol, RuleCommon, RuleHistory string

	DoneTitle, DoneText, SignIn string

	ErrorTitle string

	ErrCodeMismatch, ErrExpiredCode                                                                       string
	ErrPasswordRules, ErrPwShort, ErrPwLong, ErrPwUpper, ErrPwLower, ErrPwDigit, ErrPwSymbol, ErrPwCommon string
	ErrPwHistory, ErrLimit, ErrUserNotFound, ErrNotAuthorized, ErrNoChannel, ErrRequired                  string
	ErrInvalid, ErrDelivery, ErrDisabled, ErrRefused, ErrInternal, ErrCrossOrigin, ErrBadForm             string
}

// languages are the pages' languages, by tag, and their names in
// themselves for the language switcher, in the switcher's order.
var (
	texts     = map[string]*text{"en": &english, "de": &german, "fr": &french, "es": &spanish}
	languages = []struct{ tag, name string }{{"en", "English"}, {"de", "Deutsch"}, {"fr", "Français"}, {"es", "Español"}}
)

// language picks the page's language: the lang parameter (query or form)
// when it names one of the pages' languages, else the supported language
// the browser prefers most in Accept-Language, else def. explicit reports
// whether it came from the parameter, which links and forms then carry on.
func language(r *http.Request, def string) (tag string, explicit bool) {
	if l := strings.ToLower(r.FormValue("lang")); texts[l] != nil {
		return l, true
	}
	type pref struct {
		tag string
		q   float64
	}
	var prefs []pref
	for part := range strings.SplitSeq(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if texts[base] != nil && q > 0 {
			prefs = append(prefs, pref{base, q})
		}
	}
	// Stable: among equal weights the header's order decides.
	slices.SortStableFunc(prefs, func(a, b pref) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	if len(prefs) > 0 {
		return prefs[0].tag, false
	}
	return def, false
}

var english = text{
	LanguageNav: "Language",

	RequestTitle:    "Forgot your password?",
	RequestIntro:    "Enter your username or email address and we will send you a code to choose a new password.",
	IdentifierLabel: "Username or email address",
	SendCode:        "Send code",

	SentTitle:     "Check your messages",
	SentEmail:     "If an account matches what you entered, we sent a code by email to %s.",
	SentSMS:       "If an account matches what you entered, we sent a code by text message to %s.",
	SentNext:      "The message can take a minute to arrive. Then enter the code on the next page.",
	ContinueReset: "Enter the code",

	ResetTitle:    "Choose a new password",
	ResetIntro:    "Enter the code we sent you and your new password.",
	UsernameLabel: "Username or email address",
	CodeLabel:     "Code",
	PasswordLabel: "New password",
	SetPassword:   "Set new password",
	NewCode:       "Request a new code",

	RulesIntro:  "Your new password needs:",
	RuleMin:     "at least %d characters",
	RuleMax:     "at most %d characters",
	RuleUpper:   "an upper-case letter",
	RuleLower:   "a lower-case letter",
	RuleDigit:   "a digit",
	RuleSymbol:  "a symbol, such as ! ? # or %",
	RuleCommon:  "not a common password or one from a data breach",
	RuleHistory: "to differ from your last %d passwords",

	DoneTitle: "Password changed",
	DoneText:  "Your password has been changed. You can now sign in with it.",
	SignIn:    "Sign in",

	ErrorTitle: "Something went wrong",

	ErrCodeMismatch:  "That code is not right. Check the message and try again.",
	ErrExpiredCode:   "That code has expired or has already been used. Request a new code.",
	ErrPasswordRules: "This password does not meet the rules below.",
	ErrPwShort:       "This password is too short: use at least %d characters.",
	ErrPwLong:        "This password is too long: use at most %d characters.",
	ErrPwUpper:       "This password needs an upper-case letter.",
	ErrPwLower:       "This password needs a lower-case letter.",
	ErrPwDigit:       "This password needs a digit.",
	ErrPwSymbol:      "This password needs a symbol, such as ! ? # or %.",
	ErrPwCommon:      "This password is too common or has appeared in a data breach: choose another.",
	ErrPwHistory:     "You used this password recently. Choose another one.",
	ErrLimit:         "Too many attempts. Please wait a while, then try again.",
	ErrUserNotFound:  "We found no account with that name.",
	ErrNotAuthorized: "The password of this account cannot be reset here. Please contact support.",
	ErrNoChannel:     "This account has no verified email address or phone number to send a code to.",
	ErrRequired:      "Please fill in this field.",
	ErrInvalid:       "Please check what you entered.",
	ErrDelivery:      "We could not send the code right now. Please try again later.",
	ErrDisabled:      "Password reset is not available right now.",
	ErrRefused:       "This request was not allowed.",
	ErrInternal:      "Something went wrong on our side. Please try again later.",
	ErrCrossOrigin:   "This form was sent from another site, so it was refused. Open this page again and retry.",
	ErrBadForm:       "The form could not be read. Please try again.",
}

var german = text{
	LanguageNav: "Sprache",

	RequestTitle:    "Passwort vergessen?",
	RequestIntro:    "Geben Sie Ihren Benutzernamen oder Ihre E-Mail-Adresse ein. Wir senden Ihnen einen Code, mit dem Sie ein neues Passwort wählen können.",
	IdentifierLabel: "Benutzername oder E-Mail-Adresse",
	SendCode:        "Code senden",

	SentTitle:     "Sehen Sie in Ihren Nachrichten nach",
	SentEmail:     "Falls ein Konto zu Ihrer Eingabe passt, haben wir einen Code per E-Mail an %s gesendet.",
	SentSMS:       "Falls ein Konto zu Ihrer Eingabe passt, haben wir einen Code per SMS an %s gesendet.",
	SentNext:      "Die Nachricht kann eine Minute brauchen. Geben Sie den Code dann auf der nächsten Seite ein.",
	ContinueReset: "Code eingeben",

	ResetTitle:    "Neues Passwort wählen",
	ResetIntro:    "Geben Sie den Code, den wir Ihnen gesendet haben, und Ihr neues Passwort ein.",
	UsernameLabel: "Benutzername oder E-Mail-Adresse",
	CodeLabel:     "Code",
	PasswordLabel: "Neues Passwort",
	SetPassword:   "Neues Passwort speichern",
	NewCode:       "Neuen Code anfordern",

	RulesIntro:  "Ihr neues Passwort braucht:",
	RuleMin:     "mindestens %d Zeichen",
	RuleMax:     "höchstens %d Zeichen",
	RuleUpper:   "einen Großbuchstaben",
	RuleLower:   "einen Kleinbuchstaben",
	RuleDigit:   "eine Ziffer",
	RuleSymbol:  "ein Sonderzeichen, etwa ! ? # oder %",
	RuleCommon:  "kein häufiges oder aus einem Datenleck bekanntes Passwort",
	RuleHistory: "einen Unterschied zu Ihren letzten %d Passwörtern",

	DoneTitle: "Passwort geändert",
	DoneText:  "Ihr Passwort wurde geändert. Sie können sich jetzt damit anmelden.",
	SignIn:    "Anmelden",

	ErrorTitle: "Etwas ist schiefgelaufen",

	ErrCodeMismatch:  "Dieser Code ist nicht richtig. Prüfen Sie die Nachricht und versuchen Sie es erneut.",
	ErrExpiredCode:   "Dieser Code ist abgelaufen oder wurde schon verwendet. Fordern Sie einen neuen Code an.",
	ErrPasswordRules: "Dieses Passwort erfüllt die Regeln unten nicht.",
	ErrPwShort:       "Dieses Passwort ist zu kurz: Verwenden Sie mindestens %d Zeichen.",
	ErrPwLong:        "Dieses Passwort ist zu lang: Verwenden Sie höchstens %d Zeichen.",
	ErrPwUpper:       "Dieses Passwort braucht einen Großbuchstaben.",
	ErrPwLower:       "Dieses Passwort braucht einen Kleinbuchstaben.",
	ErrPwDigit:       "Dieses Passwort braucht eine Ziffer.",
	ErrPwSymbol:      "Dieses Passwort braucht ein Sonderzeichen, etwa ! ? # oder %.",
	ErrPwCommon:      "Dieses Passwort ist zu häufig oder aus einem Datenleck bekannt: Bitte wählen Sie ein anderes.",
	ErrPwHistory:     "Dieses Passwort haben Sie vor Kurzem verwendet. Wählen Sie ein anderes.",
	ErrLimit:         "Zu viele Versuche. Bitte warten Sie eine Weile und versuchen Sie es dann erneut.",
	ErrUserNotFound:  "Wir haben kein Konto mit diesem Namen gefunden.",
	ErrNotAuthorized: "Das Passwort dieses Kontos kann hier nicht zurückgesetzt werden. Bitte wenden Sie sich an den Support.",
	ErrNoChannel:     "Dieses Konto hat keine bestätigte E-Mail-Adresse oder Telefonnummer, an die wir einen Code senden könnten.",
	ErrRequired:      "Bitte füllen Sie dieses Feld aus.",
	ErrInvalid:       "Bitte prüfen Sie Ihre Eingabe.",
	ErrDelivery:      "Wir konnten den Code gerade nicht senden. Bitte versuchen Sie es später erneut.",
	ErrDisabled:      "Das Zurücksetzen des Passworts ist gerade nicht möglich.",
	ErrRefused:       "Diese Anfrage ist nicht erlaubt.",
	ErrInternal:      "Bei uns ist etwas schiefgelaufen. Bitte versuchen Sie es später erneut.",
	ErrCrossOrigin:   "Dieses Formular wurde von einer anderen Website gesendet und deshalb abgelehnt. Öffnen Sie diese Seite erneut und versuchen Sie es noch einmal.",
	ErrBadForm:       "Das Formular konnte nicht gelesen werden. Bitte versuchen Sie es erneut.",
}

var french = text{
	LanguageNav: "Langue",

	RequestTitle:    "Mot de passe oublié ?",
	RequestIntro:    "Saisissez votre nom d’utilisateur ou votre adresse e-mail : nous vous enverrons un code pour choisir un nouveau mot de passe.",
	IdentifierLabel: "Nom d’utilisateur ou adresse e-mail",
	SendCode:        "Envoyer le code",

	SentTitle:     "Consultez vos messages",
	SentEmail:     "Si un compte correspond à votre saisie, nous avons envoyé un code par e-mail à %s.",
	SentSMS:       "Si un compte correspond à votre saisie, nous avons envoyé un code par SMS au %s.",
	SentNext:      "Le message peut mettre une minute à arriver. Saisissez ensuite le code sur la page suivante.",
	ContinueReset: "Saisir le code",

	ResetTitle:    "Choisissez un nouveau mot de passe",
	ResetIntro:    "Saisissez le code que nous vous avons envoyé et votre nouveau mot de passe.",
	UsernameLabel: "Nom d’utilisateur ou adresse e-mail",
	CodeLabel:     "Code",
	PasswordLabel: "Nouveau mot de passe",
	SetPassword:   "Enregistrer le mot de passe",
	NewCode:       "Demander un nouveau code",

	RulesIntro:  "Votre nouveau mot de passe doit contenir :",
	RuleMin:     "au moins %d caractères",
	RuleMax:     "au plus %d caractères",
	RuleUpper:   "une lettre majuscule",
	RuleLower:   "une lettre minuscule",
	RuleDigit:   "un chiffre",
	RuleSymbol:  "un symbole, par exemple ! ? # ou %",
	RuleCommon:  "pas un mot de passe courant ni issu d’une fuite de données",
	RuleHistory: "et différer de vos %d derniers mots de passe",

	DoneTitle: "Mot de passe modifié",
	DoneText:  "Votre mot de passe a été modifié. Vous pouvez maintenant vous connecter avec.",
	SignIn:    "Se connecter",

	ErrorTitle: "Une erreur s’est produite",

	ErrCodeMismatch:  "Ce code n’est pas le bon. Vérifiez le message et réessayez.",
	ErrExpiredCode:   "Ce code a expiré ou a déjà été utilisé. Demandez un nouveau code.",
	ErrPasswordRules: "Ce mot de passe ne respecte pas les règles ci-dessous.",
	ErrPwShort:       "Ce mot de passe est trop court : utilisez au moins %d caractères.",
	ErrPwLong:        "Ce mot de passe est trop long : utilisez au plus %d caractères.",
	ErrPwUpper:       "Ce mot de passe doit contenir une lettre majuscule.",
	ErrPwLower:       "Ce mot de passe doit contenir une lettre minuscule.",
	ErrPwDigit:       "Ce mot de passe doit contenir un chiffre.",
	ErrPwSymbol:      "Ce mot de passe doit contenir un symbole, par exemple ! ? # ou %.",
	ErrPwCommon:      "Ce mot de passe est trop courant ou figure dans une fuite de données : choisissez-en un autre.",
	ErrPwHistory:     "Vous avez utilisé ce mot de passe récemment. Choisissez-en un autre.",
	ErrLimit:         "Trop de tentatives. Veuillez patienter un moment, puis réessayer.",
	ErrUserNotFound:  "Nous n’avons trouvé aucun compte à ce nom.",
	ErrNotAuthorized: "Le mot de passe de ce compte ne peut pas être réinitialisé ici. Veuillez contacter l’assistance.",
	ErrNoChannel:     "Ce compte n’a ni adresse e-mail ni numéro de téléphone vérifié auquel envoyer un code.",
	ErrRequired:      "Veuillez remplir ce champ.",
	ErrInvalid:       "Veuillez vérifier votre saisie.",
	ErrDelivery:      "Nous n’avons pas pu envoyer le code pour le moment. Veuillez réessayer plus tard.",
	ErrDisabled:      "La réinitialisation du mot de passe n’est pas disponible pour le moment.",
	ErrRefused:       "Cette demande n’est pas autorisée.",
	ErrInternal:      "Une erreur s’est produite de notre côté. Veuillez réessayer plus tard.",
	ErrCrossOrigin:   "Ce formulaire a été envoyé depuis un autre site, il a donc été refusé. Rouvrez cette page et réessayez.",
	ErrBadForm:       "Le formulaire n’a pas pu être lu. Veuillez réessayer.",
}

var spanish = text{
	LanguageNav: "Idioma",

	RequestTitle:    "¿Ha olvidado su contraseña?",
	RequestIntro:    "Introduzca su nombre de usuario o su dirección de correo electrónico y le enviaremos un código para elegir una contraseña nueva.",
	IdentifierLabel: "Nombre de usuario o correo electrónico",
	SendCode:        "Enviar código",

	SentTitle:     "Revise sus mensajes",
	SentEmail:     "Si hay una cuenta que coincide con lo que introdujo, le enviamos un código por correo electrónico a %s.",
	SentSMS:       "Si hay una cuenta que coincide con lo que introdujo, le enviamos un código por SMS al %s.",
	SentNext:      "El mensaje puede tardar un minuto en llegar. Después, introduzca el código en la página siguiente.",
	ContinueReset: "Introducir el código",

	ResetTitle:    "Elija una contraseña nueva",
	ResetIntro:    "Introduzca el código que le enviamos y su contraseña nueva.",
	UsernameLabel: "Nombre de usuario o correo electrónico",
	CodeLabel:     "Código",
	PasswordLabel: "Contraseña nueva",
	SetPassword:   "Guardar contraseña",
	NewCode:       "Solicitar un código nuevo",

	RulesIntro:  "Su contraseña nueva necesita:",
	RuleMin:     "al menos %d caracteres",
	RuleMax:     "como máximo %d caracteres",
	RuleUpper:   "una letra mayúscula",
	RuleLower:   "una letra minúscula",
	RuleDigit:   "un número",
	RuleSymbol:  "un símbolo, como ! ? # o %",
	RuleCommon:  "que no sea una contraseña común ni filtrada",
	RuleHistory: "ser distinta de sus últimas %d contraseñas",

	DoneTitle: "Contraseña cambiada",
	DoneText:  "Su contraseña se ha cambiado. Ya puede iniciar sesión con ella.",
	SignIn:    "Iniciar sesión",

	ErrorTitle: "Algo salió mal",

	ErrCodeMismatch:  "Ese código no es correcto. Revise el mensaje e inténtelo de nuevo.",
	ErrExpiredCode:   "Ese código ha caducado o ya se ha usado. Solicite un código nuevo.",
	ErrPasswordRules: "Esta contraseña no cumple las reglas de abajo.",
	ErrPwShort:       "Esta contraseña es demasiado corta: use al menos %d caracteres.",
	ErrPwLong:        "Esta contraseña es demasiado larga: use como máximo %d caracteres.",
	ErrPwUpper:       "Esta contraseña necesita una letra mayúscula.",
	ErrPwLower:       "Esta contraseña necesita una letra minúscula.",
	ErrPwDigit:       "Esta contraseña necesita un número.",
	ErrPwSymbol:      "Esta contraseña necesita un símbolo, como ! ? # o %.",
	ErrPwCommon:      "Esta contraseña es demasiado común o apareció en una filtración de datos: elija otra.",
	ErrPwHistory:     "Ha usado esta contraseña hace poco. Elija otra.",
	ErrLimit:         "Demasiados intentos. Espere un rato y vuelva a intentarlo.",
	ErrUserNotFound:  "No encontramos ninguna cuenta con ese nombre.",
	ErrNotAuthorized: "La contraseña de esta cuenta no se puede restablecer aquí. Póngase en contacto con el soporte.",
	ErrNoChannel:     "Esta cuenta no tiene un correo electrónico ni un teléfono verificados a los que enviar un código.",
	ErrRequired:      "Rellene este campo.",
	ErrInvalid:       "Revise lo que ha introducido.",
	ErrDelivery:      "No pudimos enviar el código en este momento. Inténtelo de nuevo más tarde.",
	ErrDisabled:      "El restablecimiento de contraseña no está disponible en este momento.",
	ErrRefused:       "Esta solicitud no está permitida.",
	ErrInternal:      "Algo salió mal por nuestra parte. Inténtelo de nuevo más tarde.",
	ErrCrossOrigin:   "Este formulario se envió desde otro sitio, así que se rechazó. Vuelva a abrir esta página e inténtelo de nuevo.",
	ErrBadForm:       "No se pudo leer el formulario. Inténtelo de nuevo.",
}
