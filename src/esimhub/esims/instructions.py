"""Installation instructions for ``GET /sims/{iccid}/instructions``, in six languages.

Steps render as objects keyed ``"1"``, ``"2"``, ... as Airalo's do. A language we have no text for
falls back to English.
"""

from __future__ import annotations

from typing import Any

from esimhub.catalogue.render import negotiate_language
from esimhub.esims import profiles
from esimhub.kit import qr
from esimhub.kit.apn import wire_apn

# language → section → steps. Sections: ios_qr, ios_manual, android_qr, android_manual, network.
TEXTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "ios_qr": (
            "Go to Settings > Cellular/Mobile > Add Cellular/Mobile Plan.",
            "Scan the QR Code.",
            "Tap 'Add Cellular Plan' and give the eSIM a label.",
            "Choose the lines for calls, messages and data.",
        ),
        "ios_manual": (
            "Go to Settings > Cellular/Mobile > Add Cellular/Mobile Plan.",
            "Tap 'Enter Details Manually'.",
            "Enter the SM-DP+ address and the activation code.",
            "Tap 'Add Cellular Plan' and give the eSIM a label.",
            "Choose the lines for calls, messages and data.",
        ),
        "android_qr": (
            "Go to Settings > Connections > SIM Card Manager.",
            "Tap 'Add Mobile Plan', then 'Scan Carrier QR Code'.",
            "Scan the QR Code and confirm.",
            "Turn the new eSIM on.",
        ),
        "android_manual": (
            "Go to Settings > Connections > SIM Card Manager.",
            "Tap 'Add Mobile Plan', then 'Enter activation code'.",
            "Enter the SM-DP+ address and the activation code.",
            "Confirm and wait until the eSIM is added.",
            "Turn the new eSIM on.",
        ),
        "network": (
            "Select the eSIM for mobile data.",
            "Turn on Data Roaming for the eSIM.",
            "Set the APN if your plan needs one.",
            "Need help? Contact your eSIM provider.",
        ),
    },
    "de": {
        "ios_qr": (
            "Öffne Einstellungen > Mobilfunk > Mobilfunktarif hinzufügen.",
            "Scanne den QR-Code.",
            "Tippe auf 'Mobilfunktarif hinzufügen' und benenne die eSIM.",
            "Wähle die Leitungen für Anrufe, Nachrichten und Daten.",
        ),
        "ios_manual": (
            "Öffne Einstellungen > Mobilfunk > Mobilfunktarif hinzufügen.",
            "Tippe auf 'Details manuell eingeben'.",
            "Gib die SM-DP+-Adresse und den Aktivierungscode ein.",
            "Tippe auf 'Mobilfunktarif hinzufügen' und benenne die eSIM.",
            "Wähle die Leitungen für Anrufe, Nachrichten und Daten.",
        ),
        "android_qr": (
            "Öffne Einstellungen > Verbindungen > SIM-Kartenverwaltung.",
            "Tippe auf 'Mobilfunktarif hinzufügen' und dann auf 'QR-Code scannen'.",
            "Scanne den QR-Code und bestätige.",
            "Schalte die neue eSIM ein.",
        ),
        "android_manual": (
            "Öffne Einstellungen > Verbindungen > SIM-Kartenverwaltung.",
            "Tippe auf 'Mobilfunktarif hinzufügen' und dann auf 'Aktivierungscode eingeben'.",
            "Gib die SM-DP+-Adresse und den Aktivierungscode ein.",
            "Bestätige und warte, bis die eSIM hinzugefügt ist.",
            "Schalte die neue eSIM ein.",
        ),
        "network": (
            "Wähle die eSIM für mobile Daten.",
            "Aktiviere Datenroaming für die eSIM.",
            "Trage den APN ein, falls dein Tarif einen braucht.",
            "Hilfe nötig? Wende dich an deinen eSIM-Anbieter.",
        ),
    },
    "fr": {
        "ios_qr": (
            "Ouvrez Réglages > Données cellulaires > Ajouter un forfait cellulaire.",
            "Scannez le code QR.",
            "Touchez « Ajouter un forfait cellulaire » et nommez l'eSIM.",
            "Choisissez les lignes pour les appels, les messages et les données.",
        ),
        "ios_manual": (
            "Ouvrez Réglages > Données cellulaires > Ajouter un forfait cellulaire.",
            "Touchez « Saisir les informations manuellement ».",
            "Saisissez l'adresse SM-DP+ et le code d'activation.",
            "Touchez « Ajouter un forfait cellulaire » et nommez l'eSIM.",
            "Choisissez les lignes pour les appels, les messages et les données.",
        ),
        "android_qr": (
            "Ouvrez Paramètres > Connexions > Gestionnaire de cartes SIM.",
            "Touchez « Ajouter un forfait mobile », puis « Scanner le code QR ».",
            "Scannez le code QR et confirmez.",
            "Activez la nouvelle eSIM.",
        ),
        "android_manual": (
            "Ouvrez Paramètres > Connexions > Gestionnaire de cartes SIM.",
            "Touchez « Ajouter un forfait mobile », puis « Saisir le code d'activation ».",
            "Saisissez l'adresse SM-DP+ et le code d'activation.",
            "Confirmez et attendez que l'eSIM soit ajoutée.",
            "Activez la nouvelle eSIM.",
        ),
        "network": (
            "Sélectionnez l'eSIM pour les données mobiles.",
            "Activez l'itinérance des données pour l'eSIM.",
            "Renseignez l'APN si votre forfait en demande un.",
            "Besoin d'aide ? Contactez votre fournisseur d'eSIM.",
        ),
    },
    "es": {
        "ios_qr": (
            "Ve a Ajustes > Datos móviles > Añadir plan de datos móviles.",
            "Escanea el código QR.",
            "Toca «Añadir plan de datos móviles» y ponle un nombre a la eSIM.",
            "Elige las líneas para llamadas, mensajes y datos.",
        ),
        "ios_manual": (
            "Ve a Ajustes > Datos móviles > Añadir plan de datos móviles.",
            "Toca «Introducir los datos manualmente».",
            "Introduce la dirección SM-DP+ y el código de activación.",
            "Toca «Añadir plan de datos móviles» y ponle un nombre a la eSIM.",
            "Elige las líneas para llamadas, mensajes y datos.",
        ),
        "android_qr": (
            "Ve a Ajustes > Conexiones > Administrador de tarjetas SIM.",
            "Toca «Añadir plan móvil» y luego «Escanear código QR».",
            "Escanea el código QR y confirma.",
            "Activa la nueva eSIM.",
        ),
        "android_manual": (
            "Ve a Ajustes > Conexiones > Administrador de tarjetas SIM.",
            "Toca «Añadir plan móvil» y luego «Introducir código de activación».",
            "Introduce la dirección SM-DP+ y el código de activación.",
            "Confirma y espera a que se añada la eSIM.",
            "Activa la nueva eSIM.",
        ),
        "network": (
            "Selecciona la eSIM para los datos móviles.",
            "Activa la itinerancia de datos para la eSIM.",
            "Configura el APN si tu plan lo necesita.",
            "¿Necesitas ayuda? Contacta con tu proveedor de eSIM.",
        ),
    },
    "tr": {
        "ios_qr": (
            "Ayarlar > Hücresel > Hücresel Plan Ekle'ye gidin.",
            "QR kodunu tarayın.",
            "'Hücresel Plan Ekle'ye dokunun ve eSIM'e bir ad verin.",
            "Aramalar, mesajlar ve veri için hatları seçin.",
        ),
        "ios_manual": (
            "Ayarlar > Hücresel > Hücresel Plan Ekle'ye gidin.",
            "'Bilgileri Elle Gir'e dokunun.",
            "SM-DP+ adresini ve etkinleştirme kodunu girin.",
            "'Hücresel Plan Ekle'ye dokunun ve eSIM'e bir ad verin.",
            "Aramalar, mesajlar ve veri için hatları seçin.",
        ),
        "android_qr": (
            "Ayarlar > Bağlantılar > SIM Kart Yöneticisi'ne gidin.",
            "'Mobil Plan Ekle'ye, ardından 'QR Kodunu Tara'ya dokunun.",
            "QR kodunu tarayın ve onaylayın.",
            "Yeni eSIM'i açın.",
        ),
        "android_manual": (
            "Ayarlar > Bağlantılar > SIM Kart Yöneticisi'ne gidin.",
            "'Mobil Plan Ekle'ye, ardından 'Etkinleştirme kodu gir'e dokunun.",
            "SM-DP+ adresini ve etkinleştirme kodunu girin.",
            "Onaylayın ve eSIM eklenene kadar bekleyin.",
            "Yeni eSIM'i açın.",
        ),
        "network": (
            "Mobil veri için eSIM'i seçin.",
            "eSIM için Veri Dolaşımı'nı açın.",
            "Planınız gerektiriyorsa APN'yi ayarlayın.",
            "Yardım mı gerekiyor? eSIM sağlayıcınıza başvurun.",
        ),
    },
    "ja": {
        "ios_qr": (
            "設定 > モバイル通信 > モバイル通信プランを追加 を開きます。",
            "QRコードを読み取ります。",
            "「モバイル通信プランを追加」をタップし、eSIMに名前を付けます。",
            "通話、メッセージ、データ通信に使う回線を選びます。",
        ),
        "ios_manual": (
            "設定 > モバイル通信 > モバイル通信プランを追加 を開きます。",
            "「詳細情報を手動で入力」をタップします。",
            "SM-DP+アドレスとアクティベーションコードを入力します。",
            "「モバイル通信プランを追加」をタップし、eSIMに名前を付けます。",
            "通話、メッセージ、データ通信に使う回線を選びます。",
        ),
        "android_qr": (
            "設定 > 接続 > SIMカードマネージャー を開きます。",
            "「モバイルプランを追加」から「QRコードをスキャン」をタップします。",
            "QRコードを読み取り、確認します。",
            "新しいeSIMをオンにします。",
        ),
        "android_manual": (
            "設定 > 接続 > SIMカードマネージャー を開きます。",
            "「モバイルプランを追加」から「アクティベーションコードを入力」をタップします。",
            "SM-DP+アドレスとアクティベーションコードを入力します。",
            "確認して、eSIMが追加されるまで待ちます。",
            "新しいeSIMをオンにします。",
        ),
        "network": (
            "モバイルデータ通信にeSIMを選びます。",
            "eSIMのデータローミングをオンにします。",
            "プランで必要な場合はAPNを設定します。",
            "お困りの場合はeSIMの提供元にお問い合わせください。",
        ),
    },
}


def steps(texts: tuple[str, ...]) -> dict[str, str]:
    return {str(number): text for number, text in enumerate(texts, start=1)}


def instructions(
    *,
    accept_language: str | None,
    smdp_address: str,
    matching_id: str,
    qr_code_url: str,
    apn: dict[str, Any],
    automatic_apn: str | None,
    is_roaming: bool | None,
) -> dict[str, Any]:
    language = negotiate_language(accept_language).split("-")[0]
    if language not in TEXTS:
        language = "en"
    texts = TEXTS[language]
    lpa = qr.lpa_string(smdp_address, matching_id)

    def network(os_name: str) -> dict[str, Any]:
        return {
            "steps": steps(texts["network"]),
            **wire_apn(apn.get(os_name), automatic_apn),
            "is_roaming": is_roaming,
        }

    manual = {"smdp_address_and_activation_code": smdp_address, "activation_code": matching_id}
    ios = {
        "model": None,
        "version": "14,15,16,17,18,26",
        "installation_via_qr_code": {
            "steps": steps(texts["ios_qr"]),
            "qr_code_data": lpa,
            "qr_code_url": qr_code_url,
            "direct_apple_installation_url": profiles.apple_installation_url(lpa),
        },
        "installation_manual": {"steps": steps(texts["ios_manual"]), **manual},
        "network_setup": network("ios"),
    }
    android = {
        "model": None,
        "version": None,
        "installation_via_qr_code": {
            "steps": steps(texts["android_qr"]),
            "qr_code_data": lpa,
            "qr_code_url": qr_code_url,
        },
        "installation_manual": {"steps": steps(texts["android_manual"]), **manual},
        "network_setup": network("android"),
    }
    return {
        "language": language.upper(),
        "ios": [ios],
        "android": [android],
    }
