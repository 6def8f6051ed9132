// The home screen's creation form, by the relay's policy: `ouverte`, a
// territory is created on this device at once and registered on the relay
// when it can be; `sur-candidature`, it is proposed to the relay's team
// (kept on the phone until sent, then asked about); `fermee`, a sentence
// says so. Also lists the creations and candidatures still waiting, and why
// one was refused.
//
// Does not: talk to the relay itself (`driver/creations.ts` does).

import { useEffect, useState } from "preact/hooks";
import type { Driver } from "../driver";
import type { Creation as Gardee, Demande, Politique } from "../driver/creations";
import { INTERVALLE_INTERROGATION } from "../driver/creations";
import { Cases, Champ, ChampChoix, ChampTexte } from "../formulaire";
import type { Reseau, Theme, TypeTerritoire } from "../genere/agenda";
import { libelles, messageDe, verifierCodesInsee } from "../modele";

const FERMEE = "Ce relais ne permet pas de créer un territoire depuis l'application\u00a0: demandez à son équipe.";

export function Creation({ driver }: { driver: Driver }) {
  const [politique, setPolitique] = useState<Politique | undefined>(() => driver.creations.cachedPolicy());
  useEffect(() => {
    driver.creations.readPolicy().then(setPolitique);
    void driver.creations.poll(true);
    const timer = setInterval(() => void driver.creations.poll(), INTERVALLE_INTERROGATION);
    return () => clearInterval(timer);
  }, [driver]);
  return (
    <>
      <EnAttente driver={driver} />
      {politique === undefined ? (
        <p>Connectez-vous une première fois au relais pour savoir si l'on peut y créer un territoire.</p>
      ) : politique === "fermee" ? (
        <section class="carte" aria-labelledby="creer-titre">
          <h2 id="creer-titre">Créer un territoire</h2>
          <p data-testid="creation-fermee">{FERMEE}</p>
        </section>
      ) : (
        <Formulaire driver={driver} candidature={politique === "sur-candidature"} />
      )}
    </>
  );
}

function Formulaire({ driver, candidature }: { driver: Driver; candidature: boolean }) {
  const l = libelles();
  const [nom, setNom] = useState("");
  const [type, setType] = useState<TypeTerritoire>("commune");
  const [insee, setInsee] = useState("");
  const [portes, setPortes] = useState<Theme[]>([]);
  const [reseaux, setReseaux] = useState<Reseau[]>([]);
  const [contact, setContact] = useState("");
  const [motivation, setMotivation] = useState("");
  const [erreurs, setErreurs] = useState<{ nom?: string; insee?: string; globale?: string }>({});
  const [envoyee, setEnvoyee] = useState(false);

  const soumettre = async (event: Event) => {
    event.preventDefault();
    const codes = insee
      .split(/[\s,;]+/)
      .map((c) => c.trim().toUpperCase())
      .filter(Boolean);
    let erreurInsee: string | undefined;
    try {
      verifierCodesInsee(codes); // sync-core's rule, which the relay applies too
    } catch (error) {
      erreurInsee = messageDe(error);
    }
    const trouvees = { nom: nom.trim() ? undefined : "Donnez un nom au territoire.", insee: erreurInsee };
    if (trouvees.nom || trouvees.insee) return setErreurs(trouvees);
    const demande: Demande = {
      nom: nom.trim(),
      type,
      insee: [...new Set(codes)],
      portes_entree: portes,
      reseaux,
      contact: contact.trim(),
      motivation: motivation.trim(),
    };
    try {
      if (candidature) {
        await driver.creations.add(demande);
        setNom("");
        setInsee("");
        setPortes([]);
        setReseaux([]);
        setContact("");
        setMotivation("");
        setEnvoyee(true);
        return;
      }
      const profil = {
        nom: demande.nom,
        type,
        codes: { insee: demande.insee, siren: null, code_epci: null },
        portes_entree: portes,
      };
      const doc = driver.createTerritory(profil);
      await driver.storage.retenir({ doc, nom: demande.nom, rejointLe: Date.now() });
      await driver.creations.add(demande, doc);
      location.hash = `#/territoire/${doc}`;
    } catch (error) {
      setErreurs({ globale: messageDe(error) });
    }
  };

  return (
    <form class="carte" onSubmit={soumettre} noValidate aria-labelledby="creer-titre">
      <h2 id="creer-titre">{candidature ? "Proposer un territoire" : "Créer un territoire"}</h2>
      {candidature && (
        <p>
          Sur ce relais, l'équipe examine chaque proposition. Votre candidature reste sur cet appareil jusqu'à son
          envoi&nbsp;; vous deviendrez organisateur du territoire dès qu'elle sera acceptée.
        </p>
      )}
      <Champ id="nom" label="Nom du territoire" erreur={erreurs.nom}>
        <input value={nom} onInput={(e) => (setNom(e.currentTarget.value), setErreurs({ ...erreurs, nom: undefined }))} />
      </Champ>
      <ChampChoix id="type-territoire" label="Type de territoire" valeur={type} choix={l.type_territoire} onChoix={setType} />
      <ChampTexte
        id="insee"
        label="Code INSEE de la commune"
        aide="5 caractères, par exemple 44109 (Nantes) ou 2A004\u202f; pour une intercommunalité, plusieurs codes séparés par des virgules."
        valeur={insee}
        onTexte={(v) => (setInsee(v), setErreurs({ ...erreurs, insee: undefined }))}
        erreur={erreurs.insee}
      />
      {candidature && (
        <>
          <Cases id="portes" legende="Portes d'entrée" valeurs={portes} choix={l.theme} onChoix={setPortes} />
          <Cases id="reseaux" legende="Réseaux" valeurs={reseaux} choix={l.reseau} onChoix={setReseaux} />
          <ChampTexte
            id="contact"
            label="Contact (courriel ou téléphone)"
            aide="Pour que l'équipe du relais puisse vous joindre."
            valeur={contact}
            onTexte={setContact}
            autoComplete="email"
          />
          <Champ id="motivation" label="Motivation">
            <textarea rows={4} maxLength={2000} value={motivation} onInput={(e) => setMotivation(e.currentTarget.value)} />
          </Champ>
        </>
      )}
      {erreurs.globale && (
        <p role="alert" class="erreur">
          {erreurs.globale}
        </p>
      )}
      <button type="submit">{candidature ? "Envoyer la candidature" : "Créer le territoire"}</button>
      {envoyee && <p role="status">Candidature enregistrée sur cet appareil.</p>}
    </form>
  );
}

/** The creations and candidatures this device keeps, and where each stands. */
function EnAttente({ driver }: { driver: Driver }) {
  const creations = driver.creations.list();
  if (creations.length === 0) return null;
  return (
    <section aria-labelledby="en-attente-titre">
      <h2 id="en-attente-titre">En attente du relais</h2>
      <ul class="cartes" aria-live="polite">
        {creations.map((c) => (
          <li key={c.cle} class="carte" data-testid="creation">
            <strong>{c.demande.nom}</strong>&nbsp;: {etat(c)}
            {(c.motif !== undefined || c.erreur) && (
              <>
                {" "}
                <button type="button" class="secondaire" onClick={() => void driver.creations.forget(c.cle)}>
                  Retirer
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function etat(c: Gardee): string {
  if (c.erreur) return `refusé par le relais\u00a0: ${c.erreur}`;
  if (c.motif !== undefined) return `candidature refusée\u00a0: ${c.motif}`;
  if (c.candidature) return "Candidature envoyée, en attente de l'équipe du relais.";
  if (c.doc) return "Pas encore enregistré sur le relais\u00a0: envoi dès le retour du réseau.";
  return "Candidature pas encore envoyée\u00a0: envoi dès le retour du réseau.";
}
