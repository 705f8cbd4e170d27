// Package locales holds ready-made recovery message templates in English,
// German, French and Spanish, for recovery.Config.Templates, each with the
// code message and the password-changed notice (the PasswordChanged
// fields, which carry no code):
//
//	cfg.Templates = locales.All()
//
// The engine picks a locale from ClientMetadata["locale"], then the user's
// locale attribute, then Config.DefaultLocale, trying "pt-BR" before "pt";
// these templates are keyed by language only, so "de-AT" and "de-CH" get
// the German one. Each template uses recovery.CodePlaceholder and
// recovery.UsernamePlaceholder; the engine escapes the username in the HTML
// body and keeps line breaks out of the subject.
//
// The SMS texts (the notice's too) stay within 70 characters once the code
// is in, so they fit one SMS segment even when the text needs UCS-2 (as "ó"
// does).
package locales

import "github.com/recoverykit/recoverykit/recovery"

// English returns the English template, worded as recovery.DefaultTemplate().
func English() recovery.Template { return english }

var english = recovery.Template{
	EmailSubject: "Your password reset code",
	EmailText: "Hello {username},\n\n" +
		"Your password reset code is {####}\n\n" +
		"If you did not ask to reset your password, you can ignore this message.\n",
	EmailHTML: html("en",
		"<p>Hello {username},</p>"+
			"<p>Your password reset code is <strong>{####}</strong></p>"+
			"<p>If you did not ask to reset your password, you can ignore this message.</p>"),
	SMS: "Your password reset code is {####}",

	PasswordChangedSubject: "Your password was changed",
	PasswordChangedText: "Hello {username},\n\n" +
		"The password of your account was just changed.\n\n" +
		"If you did this, there is nothing more to do. If you did not, reset your password now and contact us.\n",
	PasswordChangedHTML: html("en",
		"<p>Hello {username},</p>"+
			"<p>The password of your account was just changed.</p>"+
			"<p>If you did this, there is nothing more to do. If you did not, reset your password now and contact us.</p>"),
	PasswordChangedSMS: "Your password was changed. If this was not you, reset it now.",
}

// German returns the German template (formal address, "Sie").
func German() recovery.Template { return german }

var german = recovery.Template{
	EmailSubject: "Ihr Code zum Zurücksetzen des Passworts",
	EmailText: "Hallo {username},\n\n" +
		"Ihr Code zum Zurücksetzen des Passworts lautet {####}\n\n" +
		"Wenn Sie das Zurücksetzen Ihres Passworts nicht angefordert haben, können Sie diese Nachricht ignorieren.\n",
	EmailHTML: html("de",
		"<p>Hallo {username},</p>"+
			"<p>Ihr Code zum Zurücksetzen des Passworts lautet <strong>{####}</strong></p>"+
			"<p>Wenn Sie das Zurücksetzen Ihres Passworts nicht angefordert haben, können Sie diese Nachricht ignorieren.</p>"),
	SMS: "Ihr Code zum Zurücksetzen des Passworts lautet {####}",

	PasswordChangedSubject: "Ihr Passwort wurde geändert",
	PasswordChangedText: "Hallo {username},\n\n" +
		"Das Passwort Ihres Kontos wurde soeben geändert.\n\n" +
		"Wenn Sie das waren, ist nichts weiter zu tun. Wenn nicht, setzen Sie Ihr Passwort sofort zurück und wenden Sie sich an uns.\n",
	PasswordChangedHTML: html("de",
		"<p>Hallo {username},</p>"+
			"<p>Das Passwort Ihres Kontos wurde soeben geändert.</p>"+
			"<p>Wenn Sie das waren, ist nichts weiter zu tun. Wenn nicht, setzen Sie Ihr Passwort sofort zurück und wenden Sie sich an uns.</p>"),
	PasswordChangedSMS: "Ihr Passwort wurde geändert. Waren Sie es nicht? Setzen Sie es zurück.",
}

// French returns the French template (formal address, "vous").
func French() recovery.Template { return french }

var french = recovery.Template{
	EmailSubject: "Votre code de réinitialisation du mot de passe",
	EmailText: "Bonjour {username},\n\n" +
		"Votre code de réinitialisation du mot de passe est {####}\n\n" +
		"Si vous n’avez pas demandé la réinitialisation de votre mot de passe, vous pouvez ignorer ce message.\n",
	EmailHTML: html("fr",
		"<p>Bonjour {username},</p>"+
			"<p>Votre code de réinitialisation du mot de passe est <strong>{####}</strong></p>"+
			"<p>Si vous n’avez pas demandé la réinitialisation de votre mot de passe, vous pouvez ignorer ce message.</p>"),
	SMS: "Votre code de réinitialisation du mot de passe est {####}",

	PasswordChangedSubject: "Votre mot de passe a été modifié",
	PasswordChangedText: "Bonjour {username},\n\n" +
		"Le mot de passe de votre compte vient d’être modifié.\n\n" +
		"Si c’est vous, vous n’avez rien d’autre à faire. Sinon, réinitialisez votre mot de passe immédiatement et contactez-nous.\n",
	PasswordChangedHTML: html("fr",
		"<p>Bonjour {username},</p>"+
			"<p>Le mot de passe de votre compte vient d’être modifié.</p>"+
			"<p>Si c’est vous, vous n’avez rien d’autre à faire. Sinon, réinitialisez votre mot de passe immédiatement et contactez-nous.</p>"),
	PasswordChangedSMS: "Votre mot de passe a été modifié. Pas vous ? Réinitialisez-le.",
}

// Spanish returns the Spanish template (formal address, "usted").
func Spanish() recovery.Template { return spanish }

var spanish = recovery.Template{
	EmailSubject: "Su código para restablecer la contraseña",
	EmailText: "Hola, {username}:\n\n" +
		"Su código para restablecer la contraseña es {####}\n\n" +
		"Si no ha solicitado restablecer su contraseña, puede ignorar este mensaje.\n",
	EmailHTML: html("es",
		"<p>Hola, {username}:</p>"+
			"<p>Su código para restablecer la contraseña es <strong>{####}</strong></p>"+
			"<p>Si no ha solicitado restablecer su contraseña, puede ignorar este mensaje.</p>"),
	SMS: "Su código para restablecer la contraseña es {####}",

	PasswordChangedSubject: "Su contraseña se ha cambiado",
	PasswordChangedText: "Hola, {username}:\n\n" +
		"La contraseña de su cuenta se acaba de cambiar.\n\n" +
		"Si fue usted, no tiene que hacer nada más. Si no, restablezca su contraseña de inmediato y póngase en contacto con nosotros.\n",
	PasswordChangedHTML: html("es",
		"<p>Hola, {username}:</p>"+
			"<p>La contraseña de su cuenta se acaba de cambiar.</p>"+
			"<p>Si fue usted, no tiene que hacer nada más. Si no, restablezca su contraseña de inmediato y póngase en contacto con nosotros.</p>"),
	PasswordChangedSMS: "Su contraseña se ha cambiado. Si no fue usted, restablézcala ya.",
}

func html(lang, body string) string {
	return `<!DOCTYPE html><html lang="` + lang + `"><head><meta charset="utf-8"></head><body>` + body + "</body></html>"
}

// All returns a new map of every template by language tag ("en", "de",
// "fr", "es"), ready for recovery.Config.Templates. Each call returns a
// fresh map, so changing it changes nothing here.
func All() map[string]recovery.Template {
	return map[string]recovery.Template{
		"en": english,
		"de": german,
		"fr": french,
		"es": spanish,
	}
}
