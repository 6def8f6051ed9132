// "Inviter" (`#/territoire/<doc>/inviter`), for a territory's organisers:
// creates organiser and resident links (role, optional label and expiry),
// shares them (the phone's share sheet where there is one, a copy, a QR
// code for a meeting room), lists the territory's invitations and revokes
// them after a confirmation. It talks to the relay's invitations API
// (`/t/<doc>/invitations`) with the organiser's token this device holds;
// the relay decides, and its French refusals are shown as they are.
//
// The link it shows is always an invitation
// (`<origin>/#/territoire/<doc>/invitation/<rôle>/<jeton>`), never a bare
// document link.
//
// Does not: store anything on the device (the relay keeps the
// invitations; a token is shown once, when created), or work offline.

import { useEffect, useRef, useState } from "preact/hooks";
import type { Driver } from "../driver";
import { Champ, ChampChoix, ChampTexte } from "../formulaire";
import { Icone } from "../icones";
import type { CodeQr } from "../qr";
import type { Role } from "../storage";

/** An invitation as the relay lists it (`server/src/invitations_api.rs`). */
interface InvitationListee {
  id: string;
  role: Role;
  libelle: string | null;
  cree_le: number;
  expire_le: number | null;
  revoquee_le: number | null;
  etat: "valide" | "expiree" | "revoquee";
}

const ROLES: Record<Role, string> = {
  habitant: "Habitant ou habitante (lecture seule)",
  organisateur: "Organisateur ou organisatrice (modifie l'agenda)",
};
const ROLE_COURT: Record<Role, string> = { habitant: "Habitant", organisateur: "Organisateur" };
const ETATS: Record<InvitationListee["etat"], string> = { valide: "valide", expiree: "expirée", revoquee: "révoquée" };
const HORS_LIGNE = "Le relais est injoignable\u00a0: réessayez une fois en ligne.";

/** The link to share for a new invitation, from this app's own origin. */
export function lienInvitation(doc: string, role: Role, jeton: string): string {
  return `${location.origin}/#/territoire/${doc}/invitation/${role}/${jeton}`;
}

/** Calls the invitations API; throws the relay's French refusal, or `HORS_LIGNE`. */
async function api(driver: Driver, jeton: string, chemin: string, init: RequestInit = {}): Promise<Response> {
  let reponse: Response;
  try {
    reponse = await fetch(`${driver.base}${chemin}`, {
      ...init,
      headers: { Authorization: `Bearer ${jeton}`, "Content-Type": "application/json" },
    });
  } catch {
    throw new Error(HORS_LIGNE);
  }
  if (reponse.ok) return reponse;
  const texte = (await reponse.text().catch(() => "")).trim();
  if (reponse.status === 401) throw new Error("Votre invitation d'organisateur n'est plus acceptée par le relais.");
  throw new Error(texte || `Le relais a refusé (${reponse.status}).`);
}

const date = (ms: number) => new Date(ms).toLocaleDateString("fr-FR", { day: "numeric", month: "long", year: "numeric" });

export function Inviter({ driver, doc }: { driver: Driver; doc: string }) {
  const nom = driver.agenda(doc)?.profil?.nom;
  const jeton = driver.jetonOrganisateur(doc);
  const [liste, setListe] = useState<InvitationListee[]>();
  const [erreur, setErreur] = useState<string>();
  const [cree, setCree] = useState<{ lien: string; role: Role }>();
  useEffect(() => {
    document.title = `Inviter · ${nom ?? "Essaim"}`;
  }, [nom]);

  const charger = async () => {
    if (!jeton) return;
    try {
      setListe(await (await api(driver, jeton, `/t/${doc}/invitations`)).json());
    } catch (error) {
      setErreur((error as Error).message);
    }
  };
  useEffect(() => {
    void charger();
  }, [driver, doc, jeton]);

  return (
    <>
      <p>
        <a class="bouton discret retour" href={`#/territoire/${doc}`}>
          <Icone nom="retour" />
          {nom ?? "Le territoire"}
        </a>
      </p>
      <h1>Inviter à {nom ? `«\u00a0${nom}\u00a0»` : "ce territoire"}</h1>
      {!jeton ? (
        <p role="note" data-testid="inviter-impossible">
          Pour créer des liens d'invitation, cet appareil doit détenir une invitation d'organisateur de ce territoire,
          enregistré sur le relais. Ouvrez le lien d'organisateur que vous avez reçu, ou demandez-en un à
          l'administrateur du relais.
        </p>
      ) : (
        <>
          <Creation
            creer={async (corps) => {
              const reponse = await api(driver, jeton, `/t/${doc}/invitations`, { method: "POST", body: JSON.stringify(corps) });
              const { invitation, jeton: nouveau } = await reponse.json();
              setCree({ lien: lienInvitation(doc, invitation.role, nouveau), role: invitation.role });
              void charger();
            }}
          />
          {cree && <Partage lien={cree.lien} role={cree.role} nom={nom} />}
          <h2>Invitations de ce territoire</h2>
          {erreur && (
            <p role="alert" class="erreur">
              {erreur}
            </p>
          )}
          {liste === undefined ? (
            !erreur && <p>Chargement des invitations…</p>
          ) : (
            <ul class="cartes" data-testid="liste-invitations">
              {liste.map((i) => (
                <LigneInvitation
                  key={i.id}
                  invitation={i}
                  revoquer={async () => {
                    await api(driver, jeton, `/t/${doc}/invitations/${i.id}`, { method: "DELETE" });
                    await charger();
                  }}
                />
              ))}
            </ul>
          )}
        </>
      )}
    </>
  );
}

/** The creation form: role, optional label and validity. */
function Creation({ creer }: { creer: (corps: object) => Promise<void> }) {
  const [role, setRole] = useState<Role>("habitant");
  const [libelle, setLibelle] = useState("");
  const [jours, setJours] = useState("");
  const [erreurs, setErreurs] = useState<Record<string, string>>({});
  const [refus, setRefus] = useState<string>();
  const [envoi, setEnvoi] = useState(false);
  const soumettre = async (event: Event) => {
    event.preventDefault();
    const trouvees: Record<string, string> = {};
    if ([...libelle.trim()].length > 80) trouvees.libelle = "80 caractères au plus.";
    const n = Number(jours);
    if (jours.trim() && !(Number.isInteger(n) && n >= 1 && n <= 3650)) trouvees.jours = "Un nombre de jours entre 1 et 3650.";
    setErreurs(trouvees);
    if (Object.keys(trouvees).length > 0) return;
    setEnvoi(true);
    setRefus(undefined);
    try {
      await creer({ role, ...(libelle.trim() && { libelle: libelle.trim() }), ...(jours.trim() && { expire_dans_jours: n }) });
      setLibelle("");
      setJours("");
    } catch (error) {
      setRefus((error as Error).message);
    } finally {
      setEnvoi(false);
    }
  };
  return (
    <form class="carte" onSubmit={soumettre} aria-labelledby="creer-titre">
      <h2 id="creer-titre">Nouveau lien d'invitation</h2>
      <ChampChoix id="invitation-role" label="Rôle" valeur={role} choix={ROLES} onChoix={setRole} />
      <ChampTexte
        id="invitation-libelle"
        label="Libellé (facultatif)"
        aide="Pour vous y retrouver : « conseil municipal », « réunion du 12 »…"
        valeur={libelle}
        onTexte={setLibelle}
        erreur={erreurs.libelle}
      />
      <ChampTexte
        id="invitation-jours"
        label="Valable pendant (jours, facultatif)"
        aide="Laissez vide pour un lien sans date de fin."
        valeur={jours}
        onTexte={setJours}
        inputMode="numeric"
        erreur={erreurs.jours}
      />
      {refus && (
        <p role="alert" class="erreur">
          {refus}
        </p>
      )}
      <button type="submit" disabled={envoi}>
        Créer le lien
      </button>
    </form>
  );
}

/** The new link: shared, copied, or shown as a QR code. */
function Partage({ lien, role, nom }: { lien: string; role: Role; nom?: string }) {
  const [copie, setCopie] = useState<string>();
  const [qr, setQr] = useState<CodeQr>();
  const [qrErreur, setQrErreur] = useState(false);
  const titre = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    setCopie(undefined);
    setQr(undefined);
    titre.current?.focus();
  }, [lien]);
  const partager = () =>
    navigator
      .share({ title: `Invitation à ${nom ?? "un territoire"} · Essaim`, url: lien })
      .catch(() => undefined); // Dismissed: nothing to say.
  const copier = async () => {
    try {
      await navigator.clipboard.writeText(lien);
      setCopie("Lien copié.");
    } catch {
      setCopie("La copie a échoué : sélectionnez le lien et copiez-le.");
    }
  };
  const afficherQr = () =>
    import("../qr")
      .then(({ codeQr }) => codeQr(lien))
      .then(setQr)
      .catch(() => setQrErreur(true));
  return (
    <section class="carte" aria-labelledby="lien-titre" data-testid="nouveau-lien">
      <h2 id="lien-titre" ref={titre} tabIndex={-1}>
        Lien {role === "habitant" ? "d'habitant" : "d'organisateur"} créé
      </h2>
      <p>
        Ce lien ne sera plus affiché&nbsp;: partagez-le maintenant. Qui l'ouvre{" "}
        {role === "habitant" ? "lit l'agenda, sans le modifier" : "peut modifier l'agenda"}.
      </p>
      <Champ id="lien-invitation" label="Lien d'invitation">
        <input type="text" readOnly value={lien} data-testid="lien-invitation" onFocus={(e) => e.currentTarget.select()} />
      </Champ>
      <p class="actions">
        {"share" in navigator && (
          <button type="button" onClick={partager}>
            Partager
          </button>
        )}
        <button type="button" class="secondaire" onClick={copier}>
          Copier le lien
        </button>
        <button type="button" class="secondaire" onClick={afficherQr}>
          Afficher le QR code
        </button>
      </p>
      <p aria-live="polite" data-testid="copie">
        {copie}
      </p>
      {qrErreur && (
        <p role="alert" class="erreur">
          Le QR code n'a pas pu être affiché&nbsp;: partagez le lien.
        </p>
      )}
      {qr && (
        <svg
          class="qr"
          viewBox={`0 0 ${qr.taille} ${qr.taille}`}
          role="img"
          aria-labelledby="qr-titre"
          data-testid="qr"
          shape-rendering="crispEdges"
        >
          <title id="qr-titre">QR code du lien d'invitation {role === "habitant" ? "d'habitant" : "d'organisateur"}</title>
          <rect width={qr.taille} height={qr.taille} fill="#fff" />
          <path d={qr.chemin} fill="#000" />
        </svg>
      )}
    </section>
  );
}

/** One invitation of the list, and its revocation behind a confirmation. */
function LigneInvitation({ invitation, revoquer }: { invitation: InvitationListee; revoquer: () => Promise<void> }) {
  const [confirmer, setConfirmer] = useState(false);
  const [refus, setRefus] = useState<string>();
  const bouton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirmer) bouton.current?.focus();
  }, [confirmer]);
  const i = invitation;
  const nomme = i.libelle ? `«\u00a0${i.libelle}\u00a0»` : `${ROLE_COURT[i.role].toLowerCase()} du ${date(i.cree_le)}`;
  const fin =
    i.etat === "revoquee" && i.revoquee_le
      ? ` · révoquée le ${date(i.revoquee_le)}`
      : i.expire_le
        ? ` · ${i.etat === "expiree" ? "expirée" : "expire"} le ${date(i.expire_le)}`
        : " · sans date de fin";
  return (
    <li class="carte" data-testid="invitation">
      <strong>{ROLE_COURT[i.role]}</strong>
      {i.libelle && <> · {i.libelle}</>} · <span data-testid="etat-invitation">{ETATS[i.etat]}</span>
      {fin}
      {i.etat === "valide" &&
        (confirmer ? (
          <span role="group" aria-label={`Révoquer le lien ${nomme}`}>
            {" "}
            Les appareils qui l'utilisent perdront l'accès.{" "}
            <button type="button" ref={bouton} onClick={() => revoquer().catch((e) => setRefus((e as Error).message))}>
              Confirmer la révocation
            </button>{" "}
            <button type="button" class="secondaire" onClick={() => setConfirmer(false)}>
              Annuler
            </button>
          </span>
        ) : (
          <>
            {" "}
            <button type="button" class="secondaire" onClick={() => setConfirmer(true)} aria-label={`Révoquer le lien ${nomme}`}>
              Révoquer
            </button>
          </>
        ))}
      {refus && (
        <span role="alert" class="erreur">
          {" "}
          {refus}
        </span>
      )}
    </li>
  );
}
